package xllm.sched.nodes;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import xllm.api.Logprobs;
import xllm.sched.cluster.NodeWire;

/**
 * One request streamed from one node: posts it to the node's {@code /internal/generate} and reads the
 * token frames as they arrive. {@link #cancel()} from another thread closes the stream, which the node
 * sees as its client gone and aborts the request.
 */
final class NodeCall {
    /** How a call ended. */
    enum Outcome {
        /** The request ended on the node; its last frame arrived. */
        ENDED,
        /** The node could not be reached, refused for want of capacity, or the stream stopped early. */
        NODE_FAILED,
        /** The node refused the request itself (a 4xx other than 429): no other node would take it either. */
        REFUSED
    }

    private final HttpClient http;
    private final Node node;
    private final String apiKey;
    private volatile InputStream body;
    private volatile boolean cancelled;
    /** Why the node refused, for {@link Outcome#REFUSED}. */
    String refusal;

    NodeCall(HttpClient http, Node node, String apiKey) {
        this.http = http;
        this.node = node;
        this.apiKey = apiKey;
    }

    /** Sends {@code request} (encoded by {@link NodeWire}) and delivers its frames; blocks until it ends. */
    Outcome run(byte[] request, NodeWire.Frames frames) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url + "/internal/generate"))
                .header("Content-Type", NodeWire.CONTENT_TYPE)
                .POST(HttpRequest.BodyPublishers.ofByteArray(request));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<InputStream> response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                body = in;
                if (cancelled) {
                    return Outcome.NODE_FAILED;
                }
                int status = response.statusCode();
                if (status != 200) {
                    refusal = new String(in.readNBytes(4096), StandardCharsets.UTF_8);
                    return status == 429 || status >= 500 ? Outcome.NODE_FAILED : Outcome.REFUSED;
                }
                boolean ended = NodeWire.read(new DataInputStream(new BufferedInputStream(in)), new Logprobs(), frames);
                return ended ? Outcome.ENDED : Outcome.NODE_FAILED;
            }
        } catch (IOException e) {
            return Outcome.NODE_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.NODE_FAILED;
        }
    }

    /** Stops reading; the node aborts the request when it next writes. */
    void cancel() {
        cancelled = true;
        InputStream in = body;
        if (in != null) {
            try {
                in.close();
            } catch (IOException e) {
                // closing is all that is wanted
            }
        }
    }
}
