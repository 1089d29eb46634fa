package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every error status, each from a real request to a real server, in vLLM's error shape. */
class ErrorStatusTest {
    private static final String OK_BODY = "{\"model\":\"pycoder-22m\",\"prompt\":\"def f(x):\",\"max_tokens\":4}";

    @TempDir
    Path tmp;

    static JsonNode assertError(Http.Response r, int status) {
        assertEquals(status, r.status(), r.body());
        JsonNode error = r.json().get("error");
        assertTrue(error != null && error.hasNonNull("message") && error.has("type") && error.has("param")
                && error.get("code").asInt() == status, "OpenAI-shaped error: " + r.body());
        return error;
    }

    @Test
    void badRequestsAnd404sOnTheDefaultServer() throws Exception {
        try (ServerProcess server = ServerProcess.start()) {
            server.awaitReady();
            JsonNode bad = assertError(Http.post(server.uri("/v1/completions"),
                    "{\"model\":\"pycoder-22m\",\"prompt\":\"x\",\"temperature\":-1}"), 400);
            assertEquals("temperature", bad.get("param").asText());
            assertError(Http.post(server.uri("/v1/completions"), "{\"model\": \"pycoder-22m\", \"prompt\": "), 400);
            JsonNode overflow = assertError(Http.post(server.uri("/v1/completions"),
                    "{\"model\":\"pycoder-22m\",\"prompt\":\"def f(x):\",\"max_tokens\":5000}"), 400);
            assertTrue(overflow.get("message").asText().contains("2048") && overflow.get("message").asText().contains("5000"),
                    overflow.toString());
            assertError(Http.post(server.uri("/v1/completions"), "{\"model\":\"gpt-4\",\"prompt\":\"x\"}"), 404);
            assertError(Http.get(server.uri("/v1/nothing-here")), 404);
            assertEquals(200, Http.post(server.uri("/v1/completions"), OK_BODY).status(), "the server stays up");
        }
    }

    @Test
    void authBodyLimitAndFullQueue() throws Exception {
        try (ServerProcess server = ServerProcess.start("--api-key", "sekrit", "--max-body-mb", "1",
                "--max-num-seqs", "1", "--max-waiting", "0")) {
            server.awaitReady();
            assertError(Http.post(server.uri("/v1/completions"), OK_BODY), 401);
            assertError(Http.post(server.uri("/v1/completions"), OK_BODY, "Authorization", "Bearer wrong"), 401);
            assertEquals(200, Http.post(server.uri("/v1/completions"), OK_BODY, "Authorization", "Bearer sekrit").status());
            String huge = "{\"model\":\"pycoder-22m\",\"prompt\":\"" + "x".repeat(2 << 20) + "\"}";
            assertError(Http.post(server.uri("/v1/completions"), huge, "Authorization", "Bearer sekrit"), 413);

            String longStream = "{\"model\":\"pycoder-22m\",\"prompt\":\"def f(x):\",\"max_tokens\":1500,\"ignore_eos\":true,\"stream\":true}";
            HttpRequest request = HttpRequest.newBuilder(server.uri("/v1/completions")).header("Content-Type", "application/json")
                    .header("Authorization", "Bearer sekrit").POST(HttpRequest.BodyPublishers.ofString(longStream)).build();
            HttpResponse<InputStream> running = Http.CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(running.body(), StandardCharsets.UTF_8))) {
                String line;
                do {
                    line = reader.readLine();
                } while (line != null && !line.startsWith("data: {"));
                // one request runs and none may wait: the next is refused
                assertError(Http.post(server.uri("/v1/completions"), OK_BODY, "Authorization", "Bearer sekrit"), 429);
            }
        }
    }

    @Test
    void serviceUnavailableWhileTheModelLoads() throws Exception {
        // config.json is a named pipe: loading blocks on it until the test writes the real file's contents
        Path source = ServerProcess.root().resolve("models/pycoder-22m");
        Path dir = Files.createDirectory(tmp.resolve("slow-model"));
        try (var files = Files.list(source)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("config.json")) {
                    Files.createSymbolicLink(dir.resolve(f.getFileName()), f.toAbsolutePath());
                }
            }
        }
        Path fifo = dir.resolve("config.json");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try (ServerProcess server = ServerProcess.start("--model", dir.toString(), "--served-model-name", "pycoder-22m")) {
            assertEquals(503, Http.get(server.uri("/health")).status());
            assertError(Http.post(server.uri("/v1/completions"), OK_BODY), 503);
            Files.writeString(fifo, Files.readString(source.resolve("config.json")));
            server.awaitReady();
            assertEquals(200, Http.post(server.uri("/v1/completions"), OK_BODY).status());
        }
    }
}
