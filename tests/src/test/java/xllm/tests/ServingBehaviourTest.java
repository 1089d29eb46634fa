package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Scheduling behaviour a user can observe over HTTP on the default model: prefix reuse, disconnects. */
class ServingBehaviourTest {
    static ServerProcess server;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start();
        server.awaitReady();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    static String idsJson(int[] ids) {
        return java.util.Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }

    static int[] randomIds(long seed, int n) {
        return new SplittableRandom(seed).ints(n, 100, 8000).toArray();
    }

    @Test
    void repeatedLongPromptHitsThePrefixCacheAndSkipsItsPrefill() {
        String body = "{\"model\":\"pycoder-22m\",\"prompt\":" + idsJson(randomIds(7, 1000)) + ",\"max_tokens\":4,\"temperature\":0}";
        double hitsBefore = Http.metric(server, "vllm:prefix_cache_hits_total");
        Http.Response first = Http.post(server.uri("/v1/completions"), body);
        assertEquals(200, first.status(), first.body());
        double hitsAfterFirst = Http.metric(server, "vllm:prefix_cache_hits_total");
        Http.Response second = Http.post(server.uri("/v1/completions"), body);
        assertEquals(200, second.status(), second.body());
        double hitsAfterSecond = Http.metric(server, "vllm:prefix_cache_hits_total");
        assertEquals(hitsBefore, hitsAfterFirst, "a new prompt finds nothing cached");
        assertEquals(992, hitsAfterSecond - hitsAfterFirst, "62 full blocks of the 1000-token prompt are reused");
        assertEquals(first.json().at("/choices/0/text").asText(), second.json().at("/choices/0/text").asText());
    }

    @Test
    void clientDisconnectMidStreamAbortsAndFreesTheKvCache() throws Exception {
        String body = "{\"model\":\"pycoder-22m\",\"prompt\":" + idsJson(randomIds(8, 300))
                + ",\"max_tokens\":1500,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
        HttpRequest request = HttpRequest.newBuilder(server.uri("/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        double abortsBefore = Http.metric(server, "vllm:request_success_total", "finished_reason=\"abort\"");
        HttpResponse<InputStream> response = Http.CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        try (InputStream in = response.body()) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                int chunks = 0;
                while (chunks < 3) {
                    String line = reader.readLine();
                    assertNotNull(line, "the stream ended after " + chunks + " chunks of 1500 tokens");
                    if (line.startsWith("data: {")) {
                        chunks++;
                    }
                }
            }, "waited for the first 3 chunks of the stream");
            assertTrue(Http.metric(server, "vllm:kv_cache_usage_perc") > 0, "the stream holds KV blocks while it runs");
        }
        Await.until("the aborted request to release its KV blocks (vllm:kv_cache_usage_perc 0)", Duration.ofSeconds(20),
                () -> Http.metric(server, "vllm:kv_cache_usage_perc") == 0);
        assertEquals(0.0, Http.metric(server, "vllm:num_requests_running"));
        // the blocks went back because the request was aborted, not because it ran to its end unread
        assertEquals(abortsBefore + 1, Http.metric(server, "vllm:request_success_total", "finished_reason=\"abort\""));
    }

    @Test
    void vllmMetricsCountTheRequestsServed() {
        int requests = 3;
        int maxTokens = 5;
        Map<String, Double> before = servedCounts();
        int promptTokens = 0;
        for (int i = 0; i < requests; i++) {
            Http.Response r = Http.post(server.uri("/v1/completions"), "{\"model\":\"pycoder-22m\",\"prompt\":"
                    + idsJson(randomIds(30 + i, 40)) + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true}");
            assertEquals(200, r.status(), r.body());
            promptTokens += r.json().at("/usage/prompt_tokens").asInt();
        }
        Map<String, Double> after = servedCounts();
        Map<String, Double> increase = new LinkedHashMap<>();
        after.forEach((name, value) -> increase.put(name, value - before.get(name)));
        Map<String, Double> expected = new LinkedHashMap<>();
        expected.put("vllm:prompt_tokens_total", (double) promptTokens);
        expected.put("vllm:generation_tokens_total", (double) requests * maxTokens);
        expected.put("vllm:request_success_total{finished_reason=\"length\"}", (double) requests);
        expected.put("vllm:prefix_cache_queries_total", (double) promptTokens);
        expected.put("vllm:prefix_cache_hits_total", 0.0);
        expected.put("vllm:num_preemptions_total", 0.0);
        expected.put("vllm:time_to_first_token_seconds_count", (double) requests);
        expected.put("vllm:inter_token_latency_seconds_count", (double) requests * (maxTokens - 1));
        expected.put("vllm:e2e_request_latency_seconds_count", (double) requests);
        expected.put("vllm:request_queue_time_seconds_count", (double) requests);
        assertEquals(expected, increase, "what /metrics counted for " + requests + " requests of " + maxTokens + " tokens");
        assertEquals(0.0, Http.metric(server, "vllm:num_requests_running"));
        assertEquals(0.0, Http.metric(server, "vllm:num_requests_waiting"));
    }

    @Test
    void theServingPathWarmUpBeforeHealthCountsInNoMetricAndLeavesNoBlocks() throws Exception {
        try (ServerProcess fresh = ServerProcess.launch("serve", ServerProcess.freePort(), Map.of("XLLM_JAVA_OPTS", "-Dxllm.warmUp.settleSeconds=3"), null)) {
            fresh.awaitReady();
            assertTrue(fresh.output().matches("(?s).*warmed up the serving path with \\d+ requests.*"), fresh.output());
            Map<String, Double> counts = servedCounts(fresh);
            Map<String, Double> none = new LinkedHashMap<>();
            counts.keySet().forEach(name -> none.put(name, 0.0));
            assertEquals(none, counts, "the warm-up's requests are nobody's");
            assertEquals(0.0, Http.metric(fresh, "vllm:kv_cache_usage_perc"), "the warm-up's blocks are dropped");
        }
    }

    /**
     * A monitoring scrape after {@code /health} must not send the engine's compiled step back to the interpreter:
     * the first {@code /metrics} once loaded a class that invalidated what C2 had assumed in every kernel call, and the
     * next requests ran slow while the whole step was compiled again.
     */
    @Test
    void aMetricsScrapeAfterHealthSendsNoEngineCodeBackToBeCompiled() throws Exception {
        try (ServerProcess fresh = ServerProcess.launch("serve", ServerProcess.freePort(),
                Map.of("XLLM_JAVA_OPTS", "-Dxllm.warmUp.settleSeconds=0 -XX:+PrintCompilation"), null)) {
            fresh.awaitReady();
            int healthy = fresh.output().length();
            assertTrue(Http.get(fresh.uri("/metrics")).body().contains("xllm:resident_memory_bytes{part=\"kv\"}"));
            Http.Response r = Http.post(fresh.uri("/v1/completions"), "{\"prompt\":\"def add(a, b):\",\"max_tokens\":8,\"temperature\":0}");
            assertEquals(200, r.status(), r.body());
            List<String> recompiled = fresh.output().substring(healthy).lines()
                    .filter(line -> line.contains("xllm.engine.") && line.contains("marked for deoptimization")).toList();
            assertEquals(List.of(), recompiled, "engine methods invalidated after /health");
        }
    }

    private static Map<String, Double> servedCounts() {
        return servedCounts(server);
    }

    /** The counters and histogram counts that requests move, under vLLM's names. */
    static Map<String, Double> servedCounts(ServerProcess server) {
        Map<String, Double> counts = new LinkedHashMap<>();
        for (String name : List.of("vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:prefix_cache_queries_total",
                "vllm:prefix_cache_hits_total", "vllm:num_preemptions_total", "vllm:time_to_first_token_seconds_count",
                "vllm:inter_token_latency_seconds_count", "vllm:e2e_request_latency_seconds_count",
                "vllm:request_queue_time_seconds_count")) {
            counts.put(name, Http.metric(server, name));
        }
        counts.put("vllm:request_success_total{finished_reason=\"length\"}",
                Http.metric(server, "vllm:request_success_total", "finished_reason=\"length\""));
        return counts;
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() {
        Http.Response t = Http.post(server.uri("/tokenize"), "{\"model\":\"pycoder-22m\",\"prompt\":\"def fibonacci(n):\"}");
        assertEquals(200, t.status(), t.body());
        JsonNode tokens = t.json().get("tokens");
        assertEquals("[334,286,515,264,1188,3950,689,939]", tokens.toString());
        Http.Response d = Http.post(server.uri("/detokenize"), "{\"model\":\"pycoder-22m\",\"tokens\":" + tokens + "}");
        assertEquals("def fibonacci(n):", d.json().get("prompt").asText());
    }

    /** Sends the same greedy requests concurrently; returns their texts in order. */
    static List<String> concurrently(ServerProcess s, List<String> bodies) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            try {
                List<Future<Http.Response>> futures = new ArrayList<>();
                for (String b : bodies) {
                    futures.add(pool.submit(() -> Http.post(s.uri("/v1/completions"), b)));
                }
                List<String> texts = new ArrayList<>();
                for (int i = 0; i < futures.size(); i++) {
                    Http.Response r = Await.result("the response to concurrent request " + i + " of " + futures.size(),
                            Duration.ofSeconds(120), futures.get(i));
                    assertEquals(200, r.status(), r.body());
                    texts.add(r.json().at("/choices/0/text").asText());
                }
                return texts;
            } finally {
                pool.shutdownNow(); // a request still running after a failure must not hold the pool's close
            }
        }
    }
}
