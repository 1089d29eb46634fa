package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import xllm.api.InferenceService;
import xllm.http.request.Prompts;
import xllm.http.request.BodyReader;
import xllm.http.request.RequestFields;
import xllm.http.request.ToolUse;
import xllm.http.response.Json;

/** vLLM's {@code POST /tokenize} (a prompt or chat messages to ids) and {@code POST /detokenize}. */
public final class TokenizeEndpoint {
    private final InferenceService service;
    private final ServedModel model;
    private final BodyReader bodies;

    public TokenizeEndpoint(InferenceService service, ServedModel model, BodyReader bodies) {
        this.service = service;
        this.model = model;
        this.bodies = bodies;
    }

    public void tokenize(ServerRequest req, ServerResponse res) throws IOException {
        RequestFields f = bodies.read(req);
        model.check(f);
        int[] ids;
        if (f.has("messages")) {
            ids = Prompts.chat(f, ToolUse.parse(f), service).ids();
        } else {
            RequestFields.require(f.has("prompt"), "prompt", "prompt or messages is required");
            ids = service.tokenize(f.text("prompt", ""), f.bool("add_special_tokens", true));
        }
        ObjectNode body = Json.object();
        body.put("count", ids.length);
        body.put("max_model_len", model.info().maxModelLength());
        var tokens = body.putArray("tokens");
        for (int id : ids) {
            tokens.add(id);
        }
        send(res, body);
    }

    public void detokenize(ServerRequest req, ServerResponse res) throws IOException {
        RequestFields f = bodies.read(req);
        model.check(f);
        RequestFields.require(f.has("tokens"), "tokens", "tokens is required");
        int[] ids = f.integers("tokens");
        Prompts.checkVocabulary(ids, model.info().vocabSize(), "tokens");
        ObjectNode body = Json.object();
        body.put("prompt", service.detokenize(ids, false));
        send(res, body);
    }

    private static void send(ServerResponse res, ObjectNode body) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }
}
