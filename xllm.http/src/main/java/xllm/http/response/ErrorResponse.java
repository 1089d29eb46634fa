package xllm.http.response;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;
import xllm.api.ServiceException;

/** An OpenAI-shaped error body, as vLLM sends it: {@code {"error":{message, type, param, code}}}. */
public final class ErrorResponse {
    private ErrorResponse() {
    }

    public static void send(ServerResponse res, ServiceException e) {
        send(res, e.kind().status(), e.kind().type(), e.getMessage(), e.param());
    }

    public static void send(ServerResponse res, int status, String type, String message, String param) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body(status, type, message, param)));
    }

    /** The error object alone, also sent as the last event of a stream that fails midway. */
    public static ObjectNode body(int status, String type, String message, String param) {
        ObjectNode error = Json.object();
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", status);
        ObjectNode body = Json.object();
        body.set("error", error);
        return body;
    }
}
