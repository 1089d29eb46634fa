package xllm.sched.cluster;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.wire.DocumentContext;
import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;

/**
 * A worker's sink for one request: each token and the finish go to the router as one small binary
 * document on the worker's event queue, stamped with the router's key and the output position, so the
 * router can tell a token it already has from the next one. Called on the engine thread; writes in place
 * into the queue's memory, allocating nothing per token.
 */
final class EventSink implements TokenSink {
    private final SharedQueue events;
    private final long key;
    private int position;

    /** @param firstPosition output tokens the client already has (the resume point) */
    EventSink(SharedQueue events, long key, int firstPosition) {
        this.events = events;
        this.key = key;
        this.position = firstPosition;
    }

    @Override
    public void onToken(int tokenId, Logprobs logprobs) {
        try (DocumentContext dc = events.writing()) {
            Bytes<?> out = dc.wire().bytes();
            out.writeByte(MessageKind.TOKEN);
            out.writeLong(key);
            out.writeInt(position++);
            out.writeInt(tokenId);
            if (logprobs == null) {
                out.writeByte((byte) -1);
            } else {
                out.writeByte((byte) logprobs.topCount());
                out.writeFloat(logprobs.sampledLogprob());
                for (int i = 0; i < logprobs.topCount(); i++) {
                    out.writeInt(logprobs.topId(i));
                    out.writeFloat(logprobs.topLogprob(i));
                }
            }
        }
    }

    @Override
    public void onFinish(FinishReason reason, Usage usage) {
        finished(events, key, reason, usage);
    }

    static void finished(SharedQueue events, long key, FinishReason reason, Usage usage) {
        try (DocumentContext dc = events.writing()) {
            Bytes<?> out = dc.wire().bytes();
            out.writeByte(MessageKind.FINISHED);
            out.writeLong(key);
            out.writeByte((byte) reason.ordinal());
            out.writeInt(usage.promptTokens());
            out.writeInt(usage.completionTokens());
            out.writeInt(usage.cachedPromptTokens());
        }
    }
}
