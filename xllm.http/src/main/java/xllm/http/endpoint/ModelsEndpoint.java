package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import xllm.api.ModelInfo;
import xllm.http.response.Json;

/** {@code GET /v1/models}: the one served model, with its context length as vLLM reports it. */
public final class ModelsEndpoint {
    private final ServedModel model;

    public ModelsEndpoint(ServedModel model) {
        this.model = model;
    }

    public void handle(ServerRequest req, ServerResponse res) {
        ModelInfo info = model.info();
        ObjectNode card = Json.object();
        card.put("id", model.name());
        card.put("object", "model");
        card.put("created", info.createdEpochSeconds());
        card.put("owned_by", "xllm");
        card.put("root", info.id());
        card.putNull("parent");
        card.put("max_model_len", info.maxModelLength());
        ObjectNode body = Json.object();
        body.put("object", "list");
        body.putArray("data").add(card);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }
}
