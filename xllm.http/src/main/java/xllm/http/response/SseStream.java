package xllm.http.response;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.common.socket.SocketWriterException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response: one {@code data:} event per JSON chunk, flushed at once so that each
 * token reaches the client when it is made. Request thread only. A failed write means the client went
 * away and surfaces as {@link IOException}, whatever the server's own exception type.
 */
public final class SseStream implements AutoCloseable {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;

    public SseStream(ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        this.out = res.outputStream();
    }

    public void send(JsonNode chunk) throws IOException {
        byte[] json = Json.bytes(chunk);
        write(() -> {
            out.write(DATA);
            out.write(json);
            out.write(END);
            out.flush();
        });
    }

    /** The OpenAI end-of-stream marker. */
    public void done() throws IOException {
        write(() -> {
            out.write(DONE);
            out.flush();
        });
    }

    @Override
    public void close() throws IOException {
        write(out::close);
    }

    private interface Write {
        void run() throws IOException;
    }

    private static void write(Write write) throws IOException {
        try {
            write.run();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (SocketWriterException | CloseConnectionException e) {
            throw new IOException("the client closed the connection", e);
        }
    }
}
