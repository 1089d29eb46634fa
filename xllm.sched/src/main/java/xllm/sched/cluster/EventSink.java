package xllm.sched.cluster;

import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;

/**
 * A worker's sink for one request: each token and the finish go to the router on the worker's event
 * queue, stamped with the router's key and the output position, so the router can tell a token it
 * already has from the next one. Called on the engine thread; allocates nothing per token.
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
        MessageCodec.writeToken(events, key, position++, tokenId, logprobs);
    }

    @Override
    public void onFinish(FinishReason reason, Usage usage) {
        MessageCodec.writeFinished(events, key, reason, usage);
    }
}
