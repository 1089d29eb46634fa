package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import xllm.api.NodePool;
import xllm.api.NodeStatus;
import xllm.http.response.Json;

/** {@code GET /admin/nodes}: the nodes a router knows, and whether this router holds the master duties. */
public final class NodesEndpoint {
    private final NodePool pool;

    public NodesEndpoint(NodePool pool) {
        this.pool = pool;
    }

    public void handle(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.object();
        body.put("master", pool.master());
        ArrayNode list = body.putArray("nodes");
        for (NodeStatus n : pool.nodes()) {
            ObjectNode entry = list.addObject();
            entry.put("name", n.name());
            entry.put("url", n.url());
            entry.put("role", n.role());
            entry.put("alive", n.alive());
            entry.put("load", n.load());
            entry.put("cached_blocks", n.cachedBlocks());
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }
}
