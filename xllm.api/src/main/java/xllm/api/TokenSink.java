package xllm.api;

/**
 * Where an engine delivers one request's output. Called on the engine thread, one call at a time per
 * request, in order; implementations must not block (hand the data to the waiting client thread).
 */
public interface TokenSink {
    /**
     * A newly sampled token. {@code logprobs} is null unless the request asked for them; it is reused by
     * the engine after the call returns, so copy what you keep.
     */
    void onToken(int tokenId, Logprobs logprobs);

    /** The request ended; no call follows. */
    void onFinish(FinishReason reason, Usage usage);
}
