package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import xllm.api.WorkerPool;
import xllm.api.WorkerStatus;
import xllm.http.response.Json;

/** {@code GET /admin/workers}: the worker processes behind a router; an empty list in one process. */
public final class WorkersEndpoint {
    private final WorkerPool pool;

    /** @param pool null when the service runs in one process */
    public WorkersEndpoint(WorkerPool pool) {
        this.pool = pool;
    }

    public void handle(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.object();
        ArrayNode list = body.putArray("workers");
        if (pool != null) {
            for (WorkerStatus w : pool.workers()) {
                ObjectNode entry = list.addObject();
                entry.put("id", w.id());
                entry.put("pid", w.pid());
                entry.put("role", w.role());
                entry.put("alive", w.alive());
                entry.put("load", w.load());
                entry.put("free_kv_blocks", w.freeKvBlocks());
            }
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }
}
