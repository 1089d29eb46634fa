package xllm.http.response;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** The fields every generation response and chunk begins with: {@code id, object, created, model}. */
public record ResponseHead(String id, long created, String model) {
    public ObjectNode body(String object) {
        ObjectNode body = Json.object();
        body.put("id", id);
        body.put("object", object);
        body.put("created", created);
        body.put("model", model);
        return body;
    }
}
