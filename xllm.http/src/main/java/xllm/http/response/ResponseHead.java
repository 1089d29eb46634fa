package xllm.http.response;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The fields every generation response and chunk begins with: {@code id, object, created, model}, and the
 * {@code service_tier} it ran in when the request named one (null: none).
 */
public record ResponseHead(String id, long created, String model, String serviceTier) {
    public ObjectNode body(String object) {
        ObjectNode body = Json.object();
        body.put("id", id);
        body.put("object", object);
        body.put("created", created);
        body.put("model", model);
        if (serviceTier != null) {
            body.put("service_tier", serviceTier);
        }
        return body;
    }
}
