package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code serve --workers 2 --roles prefill,decode}: the prefill worker computes each prompt and its first
 * token, the decode worker copies the prompt's KV from the prefill worker's arena in shared memory and
 * generates the rest. Clients see exactly what one process gives them; a prefix the decode worker caches is
 * not copied again; kill -9 of either worker mid-stream loses no token.
 */
class PrefillDecodeTest {
    static ServerProcess single;
    static ServerProcess pd;

    @BeforeAll
    static void start() throws Exception {
        single = ServerProcess.start("--state-dir", Files.createTempDirectory("xllm-pd-single").toString());
        pd = ServerProcess.start("--workers", "2", "--roles", "prefill,decode", "--state-dir",
                Files.createTempDirectory("xllm-pd-state").toString());
        single.awaitReady();
        pd.awaitReady();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        pd.close();
        single.close();
    }

    static String body(int seed, int promptLength, int maxTokens) {
        return "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(seed, promptLength))
                + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}";
    }

    static List<ClusterTest.Stream> streamAll(ServerProcess server, List<String> bodies, Runnable whileRunning) throws Exception {
        List<ClusterTest.Stream> out = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ClusterTest.Stream>> fs = new ArrayList<>();
            for (String b : bodies) {
                fs.add(pool.submit(() -> ClusterTest.stream(server, b)));
            }
            whileRunning.run();
            for (Future<ClusterTest.Stream> f : fs) {
                out.add(f.get());
            }
        }
        return out;
    }

    @Test
    void greedyOutputsAreThoseOfOneProcessAndTheKvIsCopiedNotRecomputed() throws Exception {
        awaitAllAlive();
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            bodies.add(body(300 + i, 20 + 37 * i, 48));
        }
        JsonNode workers = Http.get(pd.uri("/admin/workers")).json().get("workers");
        assertEquals("prefill", workers.get(0).get("role").asText());
        assertEquals("decode", workers.get(1).get("role").asText());
        double bytesBefore = Http.metric(pd, "xllm:kv_transfer_bytes_total");
        double copiesBefore = Http.metric(pd, "xllm:kv_transfer_seconds_count");
        List<ClusterTest.Stream> expected = streamAll(single, bodies, () -> { });
        List<ClusterTest.Stream> actual = streamAll(pd, bodies, () -> { });
        for (int i = 0; i < bodies.size(); i++) {
            assertEquals(expected.get(i).text(), actual.get(i).text(), "request " + i);
            assertEquals(48, actual.get(i).completionTokens());
        }
        assertEquals(copiesBefore + bodies.size(), Http.metric(pd, "xllm:kv_transfer_seconds_count"), "each prompt's KV was handed over once");
        assertTrue(Http.metric(pd, "xllm:kv_transfer_bytes_total") > bytesBefore, "KV bytes were copied");
    }

    @Test
    void aPrefixTheDecodeWorkerCachesIsNotCopiedAgain() throws Exception {
        awaitAllAlive();
        // 200 tokens: 12 full blocks of 16 and 8 tokens in a 13th
        String request = "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(901, 200))
                + ",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}";
        double before = Http.metric(pd, "xllm:kv_transfer_bytes_total");
        Http.Response first = Http.post(pd.uri("/v1/completions"), request);
        assertEquals(200, first.status(), first.body());
        double afterFirst = Http.metric(pd, "xllm:kv_transfer_bytes_total");
        Http.Response second = Http.post(pd.uri("/v1/completions"), request);
        assertEquals(200, second.status(), second.body());
        double afterSecond = Http.metric(pd, "xllm:kv_transfer_bytes_total");
        assertEquals(first.json().at("/choices/0/text").asText(), second.json().at("/choices/0/text").asText());
        double firstCopy = afterFirst - before;
        double secondCopy = afterSecond - afterFirst;
        assertEquals(13 * secondCopy, firstCopy, 0.5, "the second time only the partial last block crosses over");
        assertEquals(192, second.json().at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                "the decode worker found the 12 full blocks in its own cache");
    }

    @Test
    void killingTheDecodeWorkerMidStreamLosesNoToken() throws Exception {
        awaitAllAlive();
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            bodies.add(body(400 + i, 30, 160));
        }
        List<ClusterTest.Stream> expected = streamAll(single, bodies, () -> { });
        List<ClusterTest.Stream> actual = streamAll(pd, bodies, () -> killWhenBusy("decode"));
        for (int i = 0; i < bodies.size(); i++) {
            assertEquals(expected.get(i).text(), actual.get(i).text(), "stream " + i + " after kill -9 of the decode worker");
            assertEquals(160, actual.get(i).completionTokens(), "stream " + i + " counts every token once");
        }
        assertTrue(Http.metric(pd, "xllm:resumed_requests_total") > 0, "the decode worker's requests resumed");
    }

    @Test
    void killingThePrefillWorkerMidStreamLosesNoToken() throws Exception {
        awaitAllAlive();
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            bodies.add(body(500 + i, 700, 24));
        }
        List<ClusterTest.Stream> expected = streamAll(single, bodies, () -> { });
        double resumed = Http.metric(pd, "xllm:resumed_requests_total");
        List<ClusterTest.Stream> actual = streamAll(pd, bodies, () -> killWhenBusy("prefill"));
        for (int i = 0; i < bodies.size(); i++) {
            assertEquals(expected.get(i).text(), actual.get(i).text(), "stream " + i + " after kill -9 of the prefill worker");
            assertEquals(24, actual.get(i).completionTokens(), "stream " + i + " counts every token once");
        }
        assertTrue(Http.metric(pd, "xllm:resumed_requests_total") > resumed, "prompts being computed resumed elsewhere");
    }

    /** Kills the worker of {@code role} with SIGKILL once it has work. */
    private static void killWhenBusy(String role) {
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() < deadline) {
                for (JsonNode w : Http.get(pd.uri("/admin/workers")).json().get("workers")) {
                    if (w.get("role").asText().equals(role) && w.get("alive").asBoolean() && w.get("load").asInt() > 0) {
                        ProcessHandle.of(w.get("pid").asLong()).orElseThrow().destroyForcibly();
                        return;
                    }
                }
                Thread.sleep(10);
            }
            throw new AssertionError("the " + role + " worker never had work");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void awaitAllAlive() throws InterruptedException {
        ClusterTest.awaitAllAlive(pd);
    }
}
