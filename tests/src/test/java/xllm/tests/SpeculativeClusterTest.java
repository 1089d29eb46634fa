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
import org.junit.jupiter.api.Test;

/**
 * {@code serve --workers 2 --speculative-config}: the workers speculate in their own processes and report
 * their counts with their heartbeats; the router's /metrics sums them, and keeps a worker's counts when
 * that worker is restarted.
 */
class SpeculativeClusterTest {
    @Test
    void routerMetricsSumTheWorkersDraftsAndKeepThemAcrossARestart() throws Exception {
        try (ServerProcess server = ServerProcess.start("--workers", "2", "--state-dir", Files.createTempDirectory("xllm-spec-cluster").toString(),
                "--speculative-config", "{\"method\":\"suffix\"}")) {
            server.awaitReady();
            // at once, so that the router puts one on each worker
            List<String> prompts = List.of(SpeculativeServingTest.PROMPT, "def mul(a, b):\n    return a * b\n\n".repeat(3) + "def mul(");
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> texts = new ArrayList<>();
                for (String p : prompts) {
                    texts.add(pool.submit(() -> SpeculativeServingTest.completion(server, p)));
                }
                for (Future<String> t : texts) {
                    t.get();
                }
            }
            for (int w = 0; w < 2; w++) {
                assertEquals(1, ClusterTest.labelled(server, "xllm:routed_requests_total", "worker=\"" + w + "\",reason=\"load\""),
                        "worker " + w + " served one of the two");
            }
            SpeculativeServingTest.SpecCounts before = settled(server);
            before.assertSpeculated("the router");

            long victim = workers(server).get(0).get("pid").asLong();
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            awaitReplaced(server, victim);
            assertEquals(before, settled(server), "a restarted worker's counts stay in the router's counters");
        }
    }

    /** The router's counts once two heartbeat periods pass without a change. */
    private static SpeculativeServingTest.SpecCounts settled(ServerProcess server) throws InterruptedException {
        SpeculativeServingTest.SpecCounts last = SpeculativeServingTest.SpecCounts.of(server);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            Thread.sleep(250);
            SpeculativeServingTest.SpecCounts now = SpeculativeServingTest.SpecCounts.of(server);
            if (now.equals(last) && now.drafts() > 0) {
                return now;
            }
            last = now;
        }
        throw new AssertionError("the router's spec_decode counters did not settle: " + last);
    }

    private static List<JsonNode> workers(ServerProcess server) {
        List<JsonNode> out = new ArrayList<>();
        Http.get(server.uri("/admin/workers")).json().get("workers").forEach(out::add);
        return out;
    }

    /** Waits until worker 0 runs in a process other than {@code victim} and has sent a heartbeat from it. */
    private static void awaitReplaced(ServerProcess server, long victim) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode w = workers(server).get(0);
            if (w.get("alive").asBoolean() && w.get("pid").asLong() != victim) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("worker 0 did not come back: " + Http.get(server.uri("/admin/workers")).body());
    }
}
