package xllm.http.endpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import xllm.api.JobService;
import xllm.api.JobStatus;
import xllm.api.ServiceException;
import xllm.http.request.BodyReader;
import xllm.http.request.RequestFields;
import xllm.http.response.ErrorResponse;
import xllm.http.response.Json;

/**
 * Offline jobs: {@code POST /v1/jobs} with {@code {"requests": [completion bodies]}} queues a job;
 * {@code GET /v1/jobs/{id}} tells its state and, once completed, its results, one completion response
 * per request. Also the job service's runner: one body through the completions pipeline, on a job thread.
 * Job requests are offline work ({@code "service_tier": "flex"}): they run in the slack online requests leave.
 */
public final class JobsEndpoint implements JobService.Runner {
    /** The priority of a job request that names none: after flex requests, which default to 0 as all do. */
    static final int OFFLINE_PRIORITY = 1_000;

    private static final long HEALTH_POLL_MILLIS = 50;

    private final JobService jobs;
    private final GenerationEndpoint completions;
    private final BodyReader bodies;
    private final BooleanSupplier healthy;

    /**
     * @param healthy whether the service answers at full speed: a job request waits for it, so that the work an
     *                earlier process left unfinished resumes after the serving path's warm-up, not inside it
     *                (where it would count in no metric), and none fails while the engine sleeps
     */
    public JobsEndpoint(JobService jobs, GenerationEndpoint completions, BodyReader bodies, BooleanSupplier healthy) {
        this.jobs = jobs;
        this.completions = completions;
        this.bodies = bodies;
        this.healthy = healthy;
    }

    public void submit(ServerRequest req, ServerResponse res) throws IOException {
        RequestFields f = bodies.read(req);
        JsonNode requests = f.value("requests");
        RequestFields.require(requests != null && requests.isArray() && !requests.isEmpty(), "requests",
                "requests must be a non-empty list of completion request bodies");
        List<String> requestBodies = new ArrayList<>();
        for (JsonNode r : requests) {
            RequestFields.require(r.isObject(), "requests", "each of requests must be a completion request object");
            requestBodies.add(new String(Json.bytes(r), java.nio.charset.StandardCharsets.UTF_8));
        }
        send(res, json(jobs.submit(requestBodies)));
    }

    public void status(ServerRequest req, ServerResponse res) throws IOException {
        send(res, json(jobs.status(req.path().pathParameters().get("id"))));
    }

    @Override
    public String run(String requestId, String requestBody) {
        try {
            while (!healthy.getAsBoolean()) {
                Thread.sleep(HEALTH_POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ObjectNode body;
        try {
            JsonNode request = Json.MAPPER.readTree(requestBody);
            if (request instanceof ObjectNode fields) {
                if (!fields.has("priority")) {
                    fields.put("priority", OFFLINE_PRIORITY);
                }
                fields.put("service_tier", "flex"); // whatever tier it names: a job is offline work
            }
            body = completions.complete(new RequestFields(request), requestId);
        } catch (ServiceException e) {
            body = ErrorResponse.body(e.kind().status(), e.kind().type(), e.getMessage(), e.param());
        } catch (IOException | RuntimeException e) {
            body = ErrorResponse.body(500, "InternalServerError", "internal error: " + e, null);
        }
        return new String(Json.bytes(body), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static ObjectNode json(JobStatus status) throws IOException {
        ObjectNode body = Json.object();
        body.put("id", status.id());
        body.put("object", "job");
        body.put("status", status.state());
        body.put("total", status.total());
        body.put("completed", status.done());
        if (status.state().equals("completed")) {
            ArrayNode results = body.putArray("results");
            for (String r : status.results()) {
                results.add(Json.MAPPER.readTree(r));
            }
        }
        return body;
    }

    private static void send(ServerResponse res, ObjectNode body) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }
}
