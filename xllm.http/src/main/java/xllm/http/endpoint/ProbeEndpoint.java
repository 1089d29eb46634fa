package xllm.http.endpoint;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import xllm.api.InferenceService;
import xllm.api.ServiceException;

/** What operators poll: {@code GET /health} for load balancers, {@code GET /metrics} for Prometheus. */
public final class ProbeEndpoint {
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final InferenceService service;

    public ProbeEndpoint(InferenceService service) {
        this.service = service;
    }

    public void health(ServerRequest req, ServerResponse res) {
        if (!service.ready()) {
            throw new ServiceException(ServiceException.Kind.UNAVAILABLE, "the model is still loading", null);
        }
        if (!service.healthy()) {
            throw new ServiceException(ServiceException.Kind.UNAVAILABLE, "warming up the serving path", null);
        }
        res.send();
    }

    public void metrics(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, PROMETHEUS_TEXT);
        res.send(service.metricsText().getBytes(StandardCharsets.UTF_8));
    }
}
