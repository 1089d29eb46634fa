package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Preemption under KV exhaustion and chunked prefill of a long prompt, each on its own server. */
class MemoryPressureTest {
    @TempDir
    Path tmp;

    @Test
    void kvExhaustionPreemptsAndEveryRequestCompletesWithItsUnpreemptedOutput() throws Exception {
        // 1 MB of f32 KV holds 128 tokens of pycoder-22m: four requests of up to 60 tokens cannot all fit
        try (ServerProcess server = ServerProcess.start("--kv-cache-mb", "1", "--kv-cache-dtype", "f32", "--no-prefix-caching")) {
            server.awaitReady();
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                bodies.add("{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(20 + i, 12))
                        + ",\"max_tokens\":48,\"temperature\":0,\"ignore_eos\":true}");
            }
            List<String> alone = new ArrayList<>();
            for (String b : bodies) {
                alone.add(Http.post(server.uri("/v1/completions"), b).json().at("/choices/0/text").asText());
            }
            assertEquals(0.0, Http.metric(server, "vllm:num_preemptions_total"));
            List<String> together = ServingBehaviourTest.concurrently(server, bodies);
            assertTrue(Http.metric(server, "vllm:num_preemptions_total") > 0, "KV exhaustion preempted a request");
            assertEquals(alone, together);
        }
    }

    @Test
    void fourThousandTokenPromptIsChunkedWhileOtherStreamsKeepProducing() throws Exception {
        Path model = longContextCopyOfDefaultModel();
        try (ServerProcess server = ServerProcess.start("--model", model.toString(), "--served-model-name", "pycoder-22m",
                "--max-num-batched-tokens", "256", "--kv-cache-mb", "64")) {
            server.awaitReady();
            List<Long> shortChunkTimes = new CopyOnWriteArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                try {
                    List<Future<?>> shorts = new ArrayList<>();
                    for (int i = 0; i < 2; i++) {
                        String body = "{\"model\":\"pycoder-22m\",\"prompt\":\"def f" + i + "(x):\",\"max_tokens\":400,"
                                + "\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
                        shorts.add(pool.submit(() -> streamChunkTimes(server, body, shortChunkTimes)));
                    }
                    Await.until("the two short streams to produce 4 tokens", Duration.ofSeconds(60), () -> shortChunkTimes.size() >= 4);
                    String longBody = "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(3, 4000))
                            + ",\"max_tokens\":4,\"temperature\":0,\"stream\":true}";
                    List<Long> longTimes = new CopyOnWriteArrayList<>();
                    long sent = System.nanoTime();
                    assertTimeoutPreemptively(Duration.ofSeconds(180), () -> streamChunkTimes(server, longBody, longTimes),
                            "waited for the stream of the 4000-token prompt to end");
                    long firstLongToken = longTimes.get(0);
                    long meanwhile = shortChunkTimes.stream().filter(t -> t > sent && t < firstLongToken).count();
                    // 4000 tokens at 256 per step take 16 steps, each of which also decodes the two short streams
                    assertTrue(meanwhile >= 16, "short streams produced " + meanwhile + " tokens during the long prefill");
                    for (Future<?> f : shorts) {
                        Await.result("a short stream of 400 tokens to end", Duration.ofSeconds(180), f);
                    }
                } finally {
                    pool.shutdownNow(); // a stream still running after a failure must not hold the pool's close
                }
            }
        }
    }

    private static Void streamChunkTimes(ServerProcess server, String body, List<Long> times) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(server.uri("/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<InputStream> response = Http.CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("data: {") && line.contains("\"text\"")) {
                    times.add(System.nanoTime());
                }
            }
        }
        return null;
    }

    /** The default model with an 8192-token context: same weights and tokenizer, longer rope range. */
    private Path longContextCopyOfDefaultModel() throws Exception {
        Path source = ServerProcess.root().resolve("models/pycoder-22m");
        Path copy = Files.createDirectory(tmp.resolve("pycoder-22m-8k"));
        try (var files = Files.list(source)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("config.json")) {
                    Files.createSymbolicLink(copy.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
        }
        Files.writeString(copy.resolve("config.json"), Files.readString(source.resolve("config.json"))
                .replace("\"max_position_embeddings\": 2048", "\"max_position_embeddings\": 8192"));
        return copy;
    }
}
