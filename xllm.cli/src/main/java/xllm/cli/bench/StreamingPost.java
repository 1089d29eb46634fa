package xllm.cli.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import javax.net.ssl.SSLSocketFactory;

/**
 * One streamed HTTP/1.1 POST over a socket of its own, read by the calling thread as the bytes arrive. The load
 * client shares the machine with the server it measures, so each streamed chunk should cost it one socket
 * read and nothing more: no selector thread, executor hand-off or subscriber queue between the wire and the
 * reader (what a general-purpose client pays per chunk).
 */
public final class StreamingPost implements AutoCloseable {
    private static final int MAX_HEADER_LINE = 16 * 1024;
    private static final int MAX_KNOWN_BODY = 1 << 20;

    private final Socket socket;
    private final int status;
    private final InputStream body;

    private StreamingPost(Socket socket, int status, InputStream body) {
        this.socket = socket;
        this.status = status;
        this.body = body;
    }

    /**
     * Sends {@code body} to {@code endpoint} (http or https) and reads the response head; the body is then
     * {@link #body()}. {@code headersTimeout} bounds the wait for the head, not the stream after it.
     */
    public static StreamingPost send(URI endpoint, String apiKey, byte[] body, Duration connectTimeout, Duration headersTimeout)
            throws IOException {
        boolean tls = "https".equalsIgnoreCase(endpoint.getScheme());
        int port = endpoint.getPort() > 0 ? endpoint.getPort() : tls ? 443 : 80;
        Socket socket = tls ? SSLSocketFactory.getDefault().createSocket() : new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(endpoint.getHost(), port), (int) connectTimeout.toMillis());
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, headersTimeout.toMillis()));
            String path = endpoint.getRawPath() + (endpoint.getRawQuery() == null ? "" : "?" + endpoint.getRawQuery());
            StringBuilder head = new StringBuilder()
                    .append("POST ").append(path.isEmpty() ? "/" : path).append(" HTTP/1.1\r\n")
                    .append("Host: ").append(endpoint.getHost()).append(':').append(port).append("\r\n")
                    .append("Content-Type: application/json\r\n")
                    .append("Accept: text/event-stream\r\n")
                    .append("Content-Length: ").append(body.length).append("\r\n")
                    .append("Connection: close\r\n");
            if (apiKey != null) {
                head.append("Authorization: Bearer ").append(apiKey).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();

            InputStream in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            String statusLine = line(in);
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP/1.x response: " + statusLine);
            }
            int status;
            try {
                status = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new IOException("bad status line: " + statusLine, e);
            }
            boolean chunked = false;
            long length = -1;
            for (String header = line(in); !header.isEmpty(); header = line(in)) {
                int colon = header.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = header.substring(colon + 1).trim();
                if (name.equals("transfer-encoding")) {
                    chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                } else if (name.equals("content-length")) {
                    try {
                        length = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad Content-Length: " + value, e);
                    }
                }
            }
            socket.setSoTimeout(0);
            // A body of known length is whole before it is read (an error answer, never a stream).
            InputStream content = chunked ? new ChunkedBody(in)
                    : length >= 0 ? new ByteArrayInputStream(in.readNBytes((int) Math.min(length, MAX_KNOWN_BODY))) : in;
            return new StreamingPost(socket, status, content);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    public int status() {
        return status;
    }

    /** The response body, de-chunked; ends where the response ends. */
    public InputStream body() {
        return body;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** One CRLF- (or LF-) terminated line of the head, without its terminator. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("the connection closed inside the response head");
            }
            if (b != '\r') {
                bytes.write(b);
            }
            if (bytes.size() > MAX_HEADER_LINE) {
                throw new IOException("a response header line is longer than " + MAX_HEADER_LINE + " bytes");
            }
        }
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }

    /** A chunked transfer-coded body, decoded: reads end at the last (zero-length) chunk. */
    private static final class ChunkedBody extends InputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        ChunkedBody(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            if (left == 0 && !nextChunk()) {
                return -1;
            }
            int n = in.read(buffer, offset, (int) Math.min(length, left));
            if (n < 0) {
                throw new IOException("the connection closed inside a chunk");
            }
            left -= n;
            if (left == 0) {
                line(in);  // the CRLF after the chunk's data
            }
            return n;
        }

        /** Reads the next chunk's size line; false at the last chunk. */
        private boolean nextChunk() throws IOException {
            if (done) {
                return false;
            }
            String size = line(in);
            int extension = size.indexOf(';');
            try {
                left = Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size: " + size, e);
            }
            if (left < 0) {
                throw new IOException("bad chunk size: " + size);
            }
            if (left == 0) {
                done = true;
                return false;
            }
            return true;
        }
    }
}
