package xllm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Slow, idle and excess connections against the real server over raw sockets: each is closed or refused within its
 * bound, while the server goes on answering.
 */
class ConnectionLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HEALTH = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    /** Each way a request can stop halfway. */
    private static final Map<String, String> HALF_SENT = new LinkedHashMap<>();

    static {
        HALF_SENT.put("nothing", "");
        HALF_SENT.put("half a request line", "POST /v1/completions HT");
        HALF_SENT.put("half the headers", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: appl");
        HALF_SENT.put("half the body", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100\r\n\r\n{\"prompt\":");
    }

    private static EchoService service;

    @BeforeAll
    static void start() {
        service = new EchoService();
    }

    @AfterAll
    static void stop() {
        service.tickMillis = 0;
    }

    @Test
    void connectionsThatStopHalfwayAreClosedAfterTheHeaderTimeoutWhileTheServerAnswers() throws Exception {
        Duration timeout = Duration.ofSeconds(3);
        try (OpenAiServer server = start(new ConnectionLimits(timeout, Duration.ofSeconds(60), 4096))) {
            long opened = System.nanoTime();
            Map<String, List<Socket>> open = new LinkedHashMap<>();
            for (var half : HALF_SENT.entrySet()) {
                long groupOpened = System.nanoTime();
                List<Socket> sockets = new ArrayList<>();
                for (int i = 0; i < 250; i++) {
                    sockets.add(send(server, half.getValue()));
                }
                open.put(half.getKey(), sockets);
                assertFalse(closedWithin(sockets.getFirst(), Duration.ofMillis(100)), half.getKey() + ": given its time first");
                assertTrue(System.nanoTime() - groupOpened < timeout.toNanos(), "the check above ran within the timeout");
            }
            assertEquals(200, status(exchange(server, HEALTH)), "the server answers while a thousand connections hang");
            for (var e : open.entrySet()) {
                int closed = 0;
                for (Socket s : e.getValue()) {
                    long left = timeout.plusSeconds(2).toNanos() - (System.nanoTime() - opened);
                    closed += closedWithin(s, Duration.ofNanos(Math.max(1, left))) ? 1 : 0;
                    s.close();
                }
                assertEquals(e.getValue().size(), closed, e.getKey() + ": closed within the timeout and 2 s");
            }
        }
    }

    @Test
    void aSlowRequestWithinTheTimeoutAndALongGenerationAfterItAreServed() throws Exception {
        service.tickMillis = 200;
        try (OpenAiServer server = start(new ConnectionLimits(Duration.ofSeconds(2), Duration.ofSeconds(60), 64))) {
            String body = "{\"prompt\":\"hello\",\"max_tokens\":12}";
            String head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n";
            try (Socket s = send(server, head)) {
                Thread.sleep(700);
                write(s, "\r\n" + body.substring(0, 5));
                Thread.sleep(700);
                write(s, body.substring(5));
                // 12 tokens at 200 ms: the answer comes after the timeout, which bounds the request, not the work
                String response = readResponse(s, Duration.ofSeconds(10));
                assertEquals(200, status(response), response);
                assertEquals("hellohellohe", json(response).get("choices").get(0).get("text").asText());
            }
        } finally {
            service.tickMillis = 0;
        }
    }

    @Test
    void anIdleKeptAliveConnectionIsClosedAfterTheKeepAliveTimeoutAndABusyOneIsNot() throws Exception {
        try (OpenAiServer server = start(new ConnectionLimits(Duration.ofSeconds(30), Duration.ofSeconds(2), 64));
             Socket idle = send(server, HEALTH);
             Socket busy = send(server, HEALTH)) {
            assertEquals(200, status(readResponse(idle, Duration.ofSeconds(5))));
            assertEquals(200, status(readResponse(busy, Duration.ofSeconds(5))));
            long start = System.nanoTime();
            while (System.nanoTime() - start < Duration.ofSeconds(5).toNanos()) {
                Thread.sleep(500);
                write(busy, HEALTH);
                assertEquals(200, status(readResponse(busy, Duration.ofSeconds(5))), "a connection in use stays open");
            }
            assertTrue(closedWithin(idle, Duration.ofSeconds(1)), "the idle one is closed after its 2 s (checked each second)");
        }
    }

    @Test
    void connectionsBeyondTheLimitAreAnswered503AndTheLimitFreesAsTheyClose() throws Exception {
        try (OpenAiServer server = start(new ConnectionLimits(Duration.ofSeconds(30), Duration.ofSeconds(60), 20))) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                // answered, so surely counted, and kept alive
                held.add(send(server, HEALTH));
                assertEquals(200, status(readResponse(held.getLast(), Duration.ofSeconds(5))));
            }
            String refused = exchange(server, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(503, status(refused), refused);
            assertTrue(refused.toLowerCase().contains("connection: close"), refused);
            JsonNode error = json(refused).get("error");
            assertEquals("ServiceUnavailableError", error.get("type").asText());
            assertTrue(error.get("message").asText().contains("--max-connections"), error.toString());
            for (Socket s : held) {
                s.close();
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            int status = 0;
            while (status != 200 && System.nanoTime() < deadline) {
                status = status(exchange(server, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"));
            }
            assertEquals(200, status, "served again once the held connections closed");
        }
    }

    @Test
    void oversizedHeadersAre431AndAnOversizedUrlIs414InTheApisErrorShape() throws Exception {
        try (OpenAiServer server = start(ConnectionLimits.DEFAULT)) {
            String headers = exchange(server, "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(ConnectionLimits.MAX_HEADER_BYTES)
                    + "\r\n\r\n");
            assertEquals(431, status(headers), headers);
            assertEquals("BadRequestError", json(headers).get("error").get("type").asText());
            assertTrue(json(headers).get("error").get("message").asText().contains("headers exceed 16384 bytes"));
            String url = exchange(server, "GET /v1/models?q=" + "a".repeat(ConnectionLimits.MAX_REQUEST_LINE_BYTES) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(414, status(url), url);
            assertTrue(json(url).get("error").get("message").asText().contains("request line exceeds 4096 bytes"));
            assertEquals(200, status(exchange(server, HEALTH)));
        }
    }

    private static OpenAiServer start(ConnectionLimits limits) {
        return OpenAiServer.start(service, ServerOptions.onPort(0).withLimits(limits));
    }

    private static Socket send(OpenAiServer server, String text) throws IOException {
        Socket s = new Socket("127.0.0.1", server.port());
        write(s, text);
        return s;
    }

    private static void write(Socket s, String text) throws IOException {
        if (!text.isEmpty()) {
            s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
        }
    }

    /** One request on a new connection, and its whole response. */
    private static String exchange(OpenAiServer server, String request) throws IOException {
        try (Socket s = send(server, request)) {
            return readResponse(s, Duration.ofSeconds(10));
        }
    }

    /** The response to the last request: head, then as many body bytes as Content-Length says. */
    private static String readResponse(Socket s, Duration timeout) throws IOException {
        s.setSoTimeout((int) timeout.toMillis());
        InputStream in = s.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int contentLength = -1;
        int headEnd = -1;
        while (headEnd < 0 || out.size() < headEnd + contentLength) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            out.write(b);
            if (headEnd < 0 && out.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                headEnd = out.size();
                String head = out.toString(StandardCharsets.ISO_8859_1).toLowerCase();
                int at = head.indexOf("content-length:");
                contentLength = at < 0 ? 0 : Integer.parseInt(head.substring(at + 15, head.indexOf("\r\n", at)).trim());
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Whether the server closes {@code s} within {@code wait}: end of stream or a reset, not silence. */
    private static boolean closedWithin(Socket s, Duration wait) throws IOException {
        s.setSoTimeout((int) Math.max(1, wait.toMillis()));
        try {
            byte[] buffer = new byte[4096];
            while (s.getInputStream().read(buffer) >= 0) {
                // an error response before the close is fine
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static int status(String response) {
        return response.isEmpty() ? -1 : Integer.parseInt(response.substring(9, 12));
    }

    private static JsonNode json(String response) throws IOException {
        return JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
    }
}
