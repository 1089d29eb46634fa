package xllm.http.endpoint;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import xllm.api.SleepMode;
import xllm.http.response.Json;

/** {@code POST /sleep}, {@code POST /wake_up}, {@code GET /is_sleeping}, as vLLM spells them. */
public final class SleepEndpoint {
    private final SleepMode mode;

    public SleepEndpoint(SleepMode mode) {
        this.mode = mode;
    }

    public void sleep(ServerRequest req, ServerResponse res) throws InterruptedException {
        mode.sleep();
        state(res);
    }

    public void wakeUp(ServerRequest req, ServerResponse res) {
        mode.wakeUp();
        state(res);
    }

    public void isSleeping(ServerRequest req, ServerResponse res) {
        state(res);
    }

    private void state(ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(Json.object().put("is_sleeping", mode.sleeping())));
    }
}
