package xllm.engine.tokenizer;

/** Turns a stream of token ids into text deltas, never emitting half a UTF-8 character. One per request. */
public final class IncrementalDecoder {
    /** Appends one token; returns the newly complete text (possibly empty). */
    public String next(int tokenId) {
        throw new UnsupportedOperationException();
    }

    /** Text still held back at the end of the stream (incomplete bytes, rendered as U+FFFD). */
    public String flush() {
        throw new UnsupportedOperationException();
    }
}
