package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import xllm.http.generate.Choice;
import xllm.http.generate.GenerationRun;
import xllm.http.request.RequestFields;
import xllm.http.response.Json;

/**
 * With {@code --log-requests}, each generation's request body and then its outputs, one line each on the
 * server's log; without it, nothing: prompts and outputs belong to the users, and the log may be read by others.
 * Thread-safe.
 */
public final class RequestLog {
    private final boolean enabled;

    public RequestLog(boolean enabled) {
        this.enabled = enabled;
    }

    void request(String id, RequestFields f) {
        if (enabled) {
            System.err.println("xllm: request " + id + ": " + new String(Json.bytes(f.json()), StandardCharsets.UTF_8));
        }
    }

    /** Once the run has ended: each choice's text and why it ended. */
    void outputs(String id, GenerationRun run) {
        if (!enabled) {
            return;
        }
        ArrayNode outputs = Json.array();
        for (Choice c : run.choices()) {
            ObjectNode o = outputs.addObject();
            o.put("index", c.index());
            o.put("text", c.text());
            o.put("finish_reason", c.finishReason() == null ? null : c.finishReason().wireName());
        }
        System.err.println("xllm: outputs of " + id + ": " + new String(Json.bytes(outputs), StandardCharsets.UTF_8));
    }
}
