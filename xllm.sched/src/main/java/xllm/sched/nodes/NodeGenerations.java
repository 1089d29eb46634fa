package xllm.sched.nodes;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.LinkedBlockingQueue;
import xllm.api.FinishReason;
import xllm.api.GenerationChannel;
import xllm.api.InferenceService;
import xllm.api.Logprobs;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.sched.cluster.NodeWire;

/**
 * A node's side of {@link NodeWire}: runs a router's request on this node's service and streams its tokens
 * back. The engine thread only encodes a frame and queues it; the request's own thread writes and flushes
 * whatever has queued. Thread-safe.
 */
public final class NodeGenerations implements GenerationChannel {
    /** Marks the end of a request's frames in its queue. */
    private static final byte[] END = new byte[0];

    private final InferenceService service;

    public NodeGenerations(InferenceService service) {
        this.service = service;
    }

    @Override
    public Run open(byte[] body) {
        NodeWire.Request decoded;
        try {
            decoded = NodeWire.decodeRequest(body);
        } catch (IllegalArgumentException e) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, e.getMessage(), null);
        }
        LinkedBlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        int[] emitted = decoded.emitted();
        service.resume(decoded.request(), emitted, new TokenSink() {
            private int position = emitted.length;

            @Override
            public void onToken(int tokenId, Logprobs logprobs) {
                frames.add(NodeWire.tokenFrame(position++, tokenId, logprobs));
            }

            @Override
            public void onFinish(FinishReason reason, Usage usage) {
                frames.add(NodeWire.finishFrame(reason, usage));
                frames.add(END);
            }
        });
        return out -> stream(frames, out, decoded.request().requestId());
    }

    private void stream(LinkedBlockingQueue<byte[]> frames, OutputStream out, String requestId) throws IOException {
        try {
            while (true) {
                byte[] frame = frames.take();
                if (frame == END) {
                    out.flush();
                    return;
                }
                out.write(frame);
                if (frames.isEmpty()) {
                    out.flush();
                }
            }
        } catch (IOException | RuntimeException e) {
            service.abort(requestId);
            throw e;
        } catch (InterruptedException e) {
            service.abort(requestId);
            Thread.currentThread().interrupt();
        }
    }
}
