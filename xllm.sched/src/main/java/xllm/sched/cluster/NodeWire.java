package xllm.sched.cluster;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import net.openhft.chronicle.bytes.Bytes;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.Usage;

/**
 * What a router and a node say over HTTP ({@code POST /internal/generate}): the request encoded as the
 * workers' queues and the journal encode it, then the node's answer as frames, one per sampled token and
 * a last one when the request ends. A stream that stops before its last frame means the node went away.
 * Stateless.
 */
public final class NodeWire {
    /** The content type of both directions. */
    public static final String CONTENT_TYPE = "application/x-xllm-generation";
    private static final byte TOKEN = 1;
    private static final byte FINISHED = 2;
    private static final byte NO_LOGPROBS = -1;
    /** The most top log-probabilities a request may ask for. */
    private static final int MAX_TOP = 20;

    /** A decoded request: what to generate, and the output another instance already produced. */
    public record Request(GenerateRequest request, int[] emitted) {
    }

    /** Where {@link #read} delivers frames. */
    public interface Frames {
        /** @param position the token's index in the request's whole output */
        void token(int position, int token, Logprobs logprobs);

        void finished(FinishReason reason, Usage usage);
    }

    private NodeWire() {
    }

    public static byte[] encodeRequest(GenerateRequest request, int[] emitted) {
        Bytes<ByteBuffer> out = Bytes.elasticHeapByteBuffer(256 + 4 * (request.promptLength() + emitted.length));
        try {
            MessageCodec.writeSubmission(out, 0, request, emitted);
            return out.toByteArray();
        } finally {
            out.releaseLast();
        }
    }

    /** Decodes a request from a router; an {@link IllegalArgumentException} names what is malformed. */
    public static Request decodeRequest(byte[] body) {
        Bytes<byte[]> in = Bytes.wrapForRead(body);
        try {
            Submission s = MessageCodec.readSubmission(in);
            if (in.readRemaining() != 0) {
                throw new IllegalArgumentException(in.readRemaining() + " bytes after the request");
            }
            return new Request(s.request(), s.emitted());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("malformed generation request: " + e.getMessage(), e);
        } finally {
            in.releaseLast();
        }
    }

    /** One token's frame, encoded at once: {@code logprobs} is reused by the engine after the call. */
    public static byte[] tokenFrame(int position, int token, Logprobs logprobs) {
        int top = logprobs == null ? 0 : logprobs.topCount();
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + 4 + 1 + (logprobs == null ? 0 : 4 + 8 * top));
        b.put(TOKEN).putInt(position).putInt(token);
        if (logprobs == null) {
            b.put(NO_LOGPROBS);
        } else {
            b.put((byte) top).putFloat(logprobs.sampledLogprob());
            for (int i = 0; i < top; i++) {
                b.putInt(logprobs.topId(i)).putFloat(logprobs.topLogprob(i));
            }
        }
        return b.array();
    }

    public static byte[] finishFrame(FinishReason reason, Usage usage) {
        return ByteBuffer.allocate(1 + 1 + 12).put(FINISHED).put((byte) reason.ordinal())
                .putInt(usage.promptTokens()).putInt(usage.completionTokens()).putInt(usage.cachedPromptTokens()).array();
    }

    /**
     * Reads frames until the last one; true when the request ended, false when the stream stopped first
     * (the node died or the connection broke).
     */
    public static boolean read(DataInputStream in, Logprobs logprobs, Frames to) throws IOException {
        while (true) {
            int kind = in.read();
            if (kind < 0) {
                return false;
            }
            if (kind == TOKEN) {
                int position = in.readInt();
                int token = in.readInt();
                int top = in.readByte();
                if (top == NO_LOGPROBS) {
                    to.token(position, token, null);
                    continue;
                }
                if (top < 0 || top > MAX_TOP) {
                    throw new IOException("a token frame with " + top + " top log-probabilities from the node");
                }
                logprobs.set(token, in.readFloat());
                for (int i = 0; i < top; i++) {
                    logprobs.addTop(in.readInt(), in.readFloat());
                }
                to.token(position, token, logprobs);
            } else if (kind == FINISHED) {
                int reason = in.readByte();
                if (reason < 0 || reason >= FinishReason.values().length) {
                    throw new IOException("unknown finish reason " + reason + " from the node");
                }
                to.finished(FinishReason.values()[reason], new Usage(in.readInt(), in.readInt(), in.readInt()));
                return true;
            } else {
                throw new IOException("unknown frame kind " + kind + " from the node");
            }
        }
    }
}
