package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code serve --workers 2}: a router and two worker processes over shared memory. A worker killed with
 * -9 mid-stream costs the clients nothing; a prompt goes to the worker that caches its prefix. The router warms
 * its serving path through the workers before /health answers 200; that warm-up counts in no metric and leaves
 * no prefix cached.
 */
class ClusterTest {
    static ServerProcess server;
    static Path state;
    /** What /metrics counted when /health first answered 200, before any test sent a request. */
    static Map<String, Double> countsAtHealth;
    /** The usage of a request sent right after /health with the warm-up's first prompt. */
    static JsonNode warmUpPromptAgain;

    @BeforeAll
    static void start() throws Exception {
        state = Files.createTempDirectory("xllm-cluster-state");
        server = ServerProcess.start("--workers", "2", "--state-dir", state.toString());
        server.awaitReady();
        countsAtHealth = ServingBehaviourTest.servedCounts(server);
        countsAtHealth.put("xllm:admitted_requests_total", Http.metric(server, "xllm:admitted_requests_total"));
        // the first prompt of the warm-up (its first client's first round), which a worker cached then
        Http.Response again = Http.post(server.uri("/v1/completions"), "{\"model\":\"pycoder-22m\",\"max_tokens\":1,\"temperature\":0,"
                + "\"prompt\":\"# 0.0\\ndef fibonacci(n):\\n    \\\"\\\"\\\"Return the n-th Fibonacci number.\\\"\\\"\\\"\\n\"}");
        assertEquals(200, again.status(), again.body());
        warmUpPromptAgain = again.json().get("usage");
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    /** One streamed completion as the client saw it: text, token count, and when each chunk came. */
    record Stream(String text, int completionTokens, List<Long> chunkNanos) {
    }

    static String streamBody(int seed) {
        return "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(seed, 24))
                + ",\"max_tokens\":200,\"temperature\":0,\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
    }

    static Stream stream(ServerProcess s, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(s.uri("/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<java.io.InputStream> response = Http.CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        StringBuilder text = new StringBuilder();
        List<Long> times = new ArrayList<>();
        int tokens = -1;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.startsWith("data: {")) {
                    continue;
                }
                JsonNode chunk = Http.JSON.readTree(line.substring(6));
                if (chunk.has("error")) {
                    throw new AssertionError("stream failed: " + chunk);
                }
                if (chunk.path("choices").size() > 0) {
                    text.append(chunk.at("/choices/0/text").asText());
                    times.add(System.nanoTime());
                }
                if (chunk.hasNonNull("usage")) {
                    tokens = chunk.at("/usage/completion_tokens").asInt();
                }
            }
        }
        return new Stream(text.toString(), tokens, times);
    }

    static double labelled(ServerProcess s, String metric, String labels) {
        String text = Http.get(s.uri("/metrics")).body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(metric + "{" + labels + "}") + " ([0-9.eE+-]+)$").matcher(text);
        if (!m.find()) {
            throw new AssertionError(metric + "{" + labels + "} not in /metrics:\n" + text);
        }
        return Double.parseDouble(m.group(1));
    }

    @Test
    void theRouterWarmsItsServingPathThroughTheWorkersAndTheWarmUpCountsNowhere() throws Exception {
        assertTrue(server.output().matches("(?s).*warmed up the serving path with \\d+ requests.*all workers loaded; ready.*"), server.output());
        Map<String, Double> none = new LinkedHashMap<>();
        countsAtHealth.keySet().forEach(name -> none.put(name, 0.0));
        assertEquals(none, countsAtHealth, "the warm-up's requests are nobody's");
        assertTrue(warmUpPromptAgain.get("prompt_tokens").asInt() >= 16, "the prompt fills a KV block: " + warmUpPromptAgain);
        assertEquals(0, warmUpPromptAgain.at("/prompt_tokens_details/cached_tokens").asInt(),
                "the warm-up's prefix blocks were dropped before /health: " + warmUpPromptAgain);
    }

    @Test
    void workerKilledMidStreamLosesNoTokenAndChangesNoText() throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            bodies.add(streamBody(100 + i));
        }
        List<Stream> baseline = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Stream>> fs = new ArrayList<>();
            for (String b : bodies) {
                fs.add(pool.submit(() -> stream(server, b)));
            }
            for (Future<Stream> f : fs) {
                baseline.add(f.get());
            }
        }
        double restartsBefore = Http.metric(server, "xllm:worker_restarts_total");
        List<Stream> disturbed = new ArrayList<>();
        long killedAt;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Stream>> fs = new ArrayList<>();
            for (String b : bodies) {
                fs.add(pool.submit(() -> stream(server, b)));
            }
            long victim = busiestWorkerPid();
            ProcessHandle.of(victim).orElseThrow().destroyForcibly(); // SIGKILL
            killedAt = System.nanoTime();
            for (Future<Stream> f : fs) {
                disturbed.add(f.get());
            }
        }
        long worstGap = 0;
        for (int i = 0; i < bodies.size(); i++) {
            assertEquals(baseline.get(i).text(), disturbed.get(i).text(), "stream " + i + " after the kill");
            assertEquals(200, disturbed.get(i).completionTokens(), "stream " + i + " counts every token once");
            assertEquals(200, baseline.get(i).completionTokens());
            long previous = killedAt;
            for (long t : disturbed.get(i).chunkNanos()) {
                if (t > killedAt) {
                    worstGap = Math.max(worstGap, t - previous);
                    previous = t;
                }
            }
        }
        System.out.printf("cluster: longest wait for a token after kill -9 of a worker (from the kill or the previous token): %.0f ms%n", worstGap / 1e6);
        assertTrue(Http.metric(server, "xllm:worker_restarts_total") > restartsBefore, "the supervisor restarted the worker");
        assertTrue(Http.metric(server, "xllm:resumed_requests_total") > 0, "requests of the dead worker were resumed");
        // the router measures what clients see: every stream's first token, and every token once
        assertTrue(Http.metric(server, "vllm:time_to_first_token_seconds_count") >= 2 * bodies.size());
        assertTrue(Http.metric(server, "vllm:generation_tokens_total") >= 2 * bodies.size() * 200);
        awaitAllAlive();
    }

    @Test
    void promptSharingALongPrefixGoesToTheWorkerThatCachedIt() throws Exception {
        awaitAllAlive();
        int[] first = ServingBehaviourTest.randomIds(77, 600);
        int[] second = Arrays.copyOf(first, 600);
        int[] tail = ServingBehaviourTest.randomIds(78, 40);
        System.arraycopy(tail, 0, second, 560, 40);
        double[] before = routed();
        Http.Response a = Http.post(server.uri("/v1/completions"), completion(first));
        assertEquals(200, a.status(), a.body());
        double[] afterFirst = routed();
        int owner = -1;
        for (int w = 0; w < 2; w++) {
            if (afterFirst[w * 2] + afterFirst[w * 2 + 1] > before[w * 2] + before[w * 2 + 1]) {
                owner = w;
            }
        }
        assertTrue(owner >= 0, "the first prompt was routed");
        Thread.sleep(1_000); // the worker publishes its cached blocks to the KV index with its heartbeat
        Http.Response b = Http.post(server.uri("/v1/completions"), completion(second));
        assertEquals(200, b.status(), b.body());
        double[] afterSecond = routed();
        assertEquals(afterFirst[owner * 2 + 1] + 1, afterSecond[owner * 2 + 1],
                "the second prompt went to worker " + owner + " for its cached prefix");
        assertEquals(560, b.json().at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                "35 full blocks of the shared prefix came from that worker's cache");
    }

    private static String completion(int[] prompt) {
        return "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(prompt) + ",\"max_tokens\":4,\"temperature\":0}";
    }

    /** Routed counts: [worker 0 load, worker 0 prefix, worker 1 load, worker 1 prefix]. */
    private static double[] routed() {
        double[] r = new double[4];
        for (int w = 0; w < 2; w++) {
            r[w * 2] = labelled(server, "xllm:routed_requests_total", "worker=\"" + w + "\",reason=\"load\"");
            r[w * 2 + 1] = labelled(server, "xllm:routed_requests_total", "worker=\"" + w + "\",reason=\"prefix\"");
        }
        return r;
    }

    /** The pid of the worker with the most requests, once both hold some. */
    private static long busiestWorkerPid() throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode workers = Http.get(server.uri("/admin/workers")).json().get("workers");
            JsonNode best = null;
            boolean allBusy = true;
            for (JsonNode w : workers) {
                allBusy &= w.get("load").asInt() > 0;
                if (best == null || w.get("load").asInt() > best.get("load").asInt()) {
                    best = w;
                }
            }
            if (allBusy) {
                return best.get("pid").asLong();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the workers never both had work: " + Http.get(server.uri("/admin/workers")).body());
    }

    private static void awaitAllAlive() throws InterruptedException {
        awaitAllAlive(server);
    }

    /** Waits until every worker of {@code s} is alive again (after a kill, the supervisor restarts it). */
    static void awaitAllAlive(ServerProcess s) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            boolean all = true;
            for (JsonNode w : Http.get(s.uri("/admin/workers")).json().get("workers")) {
                all &= w.get("alive").asBoolean();
            }
            if (all) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("a worker did not come back: " + Http.get(s.uri("/admin/workers")).body());
    }
}
