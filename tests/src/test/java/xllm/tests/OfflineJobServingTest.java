package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online and offline work on one server: a large job (POST /v1/jobs) runs while online clients stream, in the
 * slack they leave. The clients get exactly the text they get without the job, and the job still completes
 * with every result, each as the same request would answer online.
 */
class OfflineJobServingTest {
    static final int ONLINE = 4;
    static final int JOB_REQUESTS = 40;
    static final int JOB_MAX_TOKENS = 32;

    @TempDir
    Path state;

    static String jobRequest(int i) {
        return "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(500 + i, 12 + i % 9))
                + ",\"max_tokens\":" + JOB_MAX_TOKENS + ",\"temperature\":0,\"ignore_eos\":true}";
    }

    static List<ClusterTest.Stream> streamAll(ServerProcess server) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ClusterTest.Stream>> streams = new ArrayList<>();
            for (int i = 0; i < ONLINE; i++) {
                String body = ClusterTest.streamBody(700 + i);
                streams.add(pool.submit(() -> ClusterTest.stream(server, body)));
            }
            List<ClusterTest.Stream> out = new ArrayList<>();
            for (Future<ClusterTest.Stream> f : streams) {
                out.add(Await.result("an online stream", Duration.ofSeconds(60), f));
            }
            return out;
        }
    }

    @Test
    void onlineStreamsBesideALargeJobKeepTheirTextAndTheJobCompletes() throws Exception {
        try (ServerProcess server = ServerProcess.start("--state-dir", state.toString())) {
            server.awaitReady();
            List<ClusterTest.Stream> alone = streamAll(server);

            List<String> requests = new ArrayList<>();
            for (int i = 0; i < JOB_REQUESTS; i++) {
                requests.add(jobRequest(i));
            }
            Http.Response submitted = Http.post(server.uri("/v1/jobs"), "{\"requests\":[" + String.join(",", requests) + "]}");
            assertEquals(200, submitted.status(), submitted.body());
            String job = submitted.json().get("id").asText();
            Await.until("the job to start", Duration.ofSeconds(30), () -> Http.metric(server, "vllm:num_requests_running") > 0);

            List<ClusterTest.Stream> beside = streamAll(server);
            for (int i = 0; i < ONLINE; i++) {
                assertEquals(alone.get(i).text(), beside.get(i).text(), "online stream " + i + " beside the job");
                assertEquals(200, beside.get(i).completionTokens());
            }

            JsonNode[] status = new JsonNode[1];
            Await.until("the job to complete", Duration.ofSeconds(60), () -> {
                status[0] = Http.get(server.uri("/v1/jobs/" + job)).json();
                return status[0].get("status").asText().equals("completed");
            });
            JsonNode results = status[0].get("results");
            assertEquals(JOB_REQUESTS, results.size());
            for (int i = 0; i < JOB_REQUESTS; i++) {
                JsonNode r = results.get(i);
                assertEquals(JOB_MAX_TOKENS, r.at("/usage/completion_tokens").asInt(), r.toString());
                assertEquals("flex", r.get("service_tier").asText(), "job requests run as offline work");
            }
            for (int i : new int[] {0, JOB_REQUESTS - 1}) {
                Http.Response online = Http.post(server.uri("/v1/completions"), requests.get(i));
                assertEquals(200, online.status(), online.body());
                assertEquals(online.json().at("/choices/0/text").asText(), results.get(i).at("/choices/0/text").asText(),
                        "job request " + i + " answered as online");
            }
            assertTrue(Http.metric(server, "xllm:num_offline_preemptions_total") >= 0, "/metrics counts offline preemptions");
        }
    }
}
