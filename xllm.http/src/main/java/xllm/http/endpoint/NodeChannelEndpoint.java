package xllm.http.endpoint;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import xllm.api.GenerationChannel;
import xllm.http.request.BodyReader;

/**
 * {@code POST /internal/generate}: a router elsewhere runs one request on this node and reads its tokens
 * as they come ({@link GenerationChannel}). Refusals are answered as JSON errors before anything streams.
 */
public final class NodeChannelEndpoint {
    private final GenerationChannel channel;
    private final BodyReader bodies;

    public NodeChannelEndpoint(GenerationChannel channel, BodyReader bodies) {
        this.channel = channel;
        this.bodies = bodies;
    }

    public void handle(ServerRequest req, ServerResponse res) throws IOException {
        GenerationChannel.Run run = channel.open(bodies.readBytes(req));
        res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        try (OutputStream out = res.outputStream()) {
            run.writeTo(out);
        }
    }
}
