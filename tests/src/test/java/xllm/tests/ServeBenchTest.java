package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code ./xllm bench serve} against a real server, with SLOs and an offline job beside the online load. */
class ServeBenchTest {
    @Test
    void reportsSloAttainmentAndTheOfflineJob() throws Exception {
        Path state = Files.createTempDirectory("xllm-bench-state");
        try (ServerProcess server = ServerProcess.start("--state-dir", state.toString())) {
            server.awaitReady();
            ProcessBuilder pb = new ProcessBuilder(List.of(ServerProcess.root().resolve("xllm").toString(), "bench", "serve",
                    "--url", server.uri("").toString(), "--concurrency", "2", "--num-prompts", "4", "--input-len", "16",
                    "--output-len", "8", "--slo-ttft-ms", "600000", "--slo-tpot-ms", "600000", "--offline-prompts", "4",
                    "--offline-output-len", "8", "--output", "json"));
            pb.environment().put("XLLM_NO_BUILD", "1");
            Process bench = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(bench.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(bench.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, bench.exitValue(), out);
            JsonNode r = Http.JSON.readTree(out);

            assertEquals(4, r.get("completed").asInt(), out);
            assertEquals(100.0, r.get("slo_attainment").asDouble(), "every request meets SLOs of ten minutes");
            assertTrue(r.get("median_ttft_ms").asDouble() > 0 && r.get("p99_ttft_ms").asDouble() >= r.get("median_ttft_ms").asDouble(), out);
            assertTrue(r.get("median_tpot_ms").asDouble() > 0 && r.get("p99_tpot_ms").asDouble() >= r.get("median_tpot_ms").asDouble(), out);

            int done = r.get("offline_completed").asInt();
            assertEquals(4, r.get("offline_prompts").asInt());
            assertTrue(done >= 0 && done <= 4, out);
            assertEquals(8L * done, r.get("offline_output_tokens").asLong(), "8 tokens for each request done: " + out);
            assertTrue(r.get("offline_throughput").asDouble() >= 0 && r.get("offline_duration").asDouble() > 0, out);
            assertTrue(r.get("offline_error").isNull(), out);
            if (r.get("offline_job_completed").asBoolean()) {
                assertEquals(4, done, out);
            }
        }
    }
}
