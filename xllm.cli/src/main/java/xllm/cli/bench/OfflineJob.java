package xllm.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An offline job run beside the online load: submitted through {@code POST /v1/jobs} as the online run starts,
 * then polled on a virtual thread until it completes or the online run ends. Its throughput is its output
 * tokens over the time it took, or, still running at the end, over the online run. Made and finished by the
 * benchmark's thread; the poller publishes what it sees through {@code volatile} fields.
 */
final class OfflineJob {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration POLL = Duration.ofMillis(200);

    private final HttpClient client;
    private final URI status;
    private final String apiKey;
    private final int requests;
    private final int outputLen;
    private final long submitted;
    private Thread poller;
    private volatile JsonNode last;
    private volatile long completedAt = -1;
    private volatile String error;

    private OfflineJob(HttpClient client, URI status, String apiKey, int requests, int outputLen, long submitted) {
        this.client = client;
        this.status = status;
        this.apiKey = apiKey;
        this.requests = requests;
        this.outputLen = outputLen;
        this.submitted = submitted;
    }

    /** Submits {@code bodies} (completion requests of {@code outputLen} tokens each) as one job and starts polling it. */
    static OfflineJob submit(HttpClient client, URI base, String apiKey, List<byte[]> bodies, int outputLen) {
        URI jobs = base.resolve("/v1/jobs");
        StringBuilder body = new StringBuilder("{\"requests\":[");
        for (int i = 0; i < bodies.size(); i++) {
            body.append(i == 0 ? "" : ",").append(new String(bodies.get(i), StandardCharsets.UTF_8));
        }
        body.append("]}");
        HttpRequest request = ServeBenchmark.authorized(HttpRequest.newBuilder(jobs), apiKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
        long start = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach " + jobs + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while submitting the offline job", e);
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("POST " + jobs + " answered " + response.statusCode() + ": " + response.body()
                    + (response.statusCode() == 404 ? " (offline jobs are an xllm extension; drop --offline-prompts for other servers)" : ""));
        }
        String id = read(response.body()).path("id").asText();
        OfflineJob job = new OfflineJob(client, jobs.resolve("/v1/jobs/" + id), apiKey, bodies.size(), outputLen, start);
        job.poller = Thread.ofVirtual().name("xllm-bench-job").start(job::poll);
        return job;
    }

    /**
     * Stops polling and reports: requests done, whether the job completed, its output tokens, the seconds they
     * are counted over and tokens per second. A job still running is counted over {@code onlineSeconds}, with
     * {@code outputLen} tokens for each request done (the requests ignore EOS). A poll that failed is reported
     * as {@code offline_error}.
     */
    Map<String, Object> finish(double onlineSeconds) throws InterruptedException {
        poller.interrupt();
        poller.join();
        if (completedAt < 0 && error == null) {
            try {
                check();
            } catch (IOException | IllegalStateException e) {
                error = e.getMessage();
            }
        }
        JsonNode state = last;
        boolean completed = completedAt >= 0;
        int done = state == null ? 0 : state.path("completed").asInt();
        long tokens = 0;
        int failed = 0;
        if (completed) {
            for (JsonNode result : state.path("results")) {
                tokens += result.path("usage").path("completion_tokens").asLong();
                failed += result.has("error") ? 1 : 0;
            }
        } else {
            tokens = (long) done * outputLen;
        }
        double seconds = completed ? (completedAt - submitted) / 1e9 : onlineSeconds;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("offline_prompts", requests);
        r.put("offline_completed", done);
        r.put("offline_failed", failed);
        r.put("offline_job_completed", completed);
        r.put("offline_output_tokens", tokens);
        r.put("offline_duration", ServeBenchmark.round(seconds));
        r.put("offline_throughput", ServeBenchmark.round(tokens / seconds));
        r.put("offline_error", error);
        return r;
    }

    private void poll() {
        try {
            while (completedAt < 0) {
                Thread.sleep(POLL);
                check();
            }
        } catch (InterruptedException stop) {
            // the online run ended; finish() asks once more
        } catch (IOException | IllegalStateException e) {
            error = e.getMessage();
        }
    }

    /** One status request; the job's end is taken as the answer to the first that sees it completed. */
    private void check() throws IOException, InterruptedException {
        HttpResponse<String> response = client.send(ServeBenchmark.authorized(HttpRequest.newBuilder(status), apiKey).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        long now = System.nanoTime();
        if (response.statusCode() != 200) {
            throw new IllegalStateException("GET " + status + " answered " + response.statusCode() + ": " + response.body());
        }
        JsonNode state = read(response.body());
        last = state;
        if (state.path("status").asText().equals("completed")) {
            completedAt = now;
        }
    }

    private static JsonNode read(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalStateException("the server answered a job request with something other than JSON: " + body, e);
        }
    }
}
