package xllm.engine.scheduler;

import xllm.api.FinishReason;

/**
 * What an engine core reports as its requests move: the figures behind vLLM's request metrics. Called on
 * the engine loop thread in the middle of a step: implementations must not block. Each report is ignored
 * unless overridden.
 */
public interface RequestMetrics {
    /** A request ran for the first time, {@code waitNanos} after it arrived. */
    default void scheduledFirst(long waitNanos) {
    }

    /** A request's first token, {@code sinceArrivalNanos} after it arrived, for a prompt of {@code promptTokens}. */
    default void firstToken(long sinceArrivalNanos, int promptTokens) {
    }

    /** A later token, {@code gapNanos} after the one before it. */
    default void nextToken(long gapNanos) {
    }

    /** A running request gave its KV blocks back to make room; it will be recomputed. */
    default void preempted() {
    }

    /** The request just {@link #preempted} is offline: it gave way to online work or to the memory it needs. */
    default void offlinePreempted() {
    }

    /**
     * A request's end: its reason, its latency, and how many of its prompt tokens were looked up in the prefix
     * cache and how many of those were found there (both 0 when it never ran).
     */
    default void requestEnded(FinishReason reason, long e2eNanos, int promptTokens, int cachedPromptTokens) {
    }

    /**
     * A sequence verified {@code drafted} draft tokens in one step, and the target took the first
     * {@code accepted} of them.
     */
    default void speculated(int drafted, int accepted) {
    }

    /**
     * A step ran in {@code nanos}: {@code prefillTokens} prompt tokens (chunks and recomputation) and
     * {@code decodes} decoding sequences whose contexts hold {@code decodeContextTokens} tokens in all. For
     * latency predictors that learn this instance's speed.
     */
    default void stepExecuted(int prefillTokens, int decodes, long decodeContextTokens, long nanos) {
    }

    /** Reports nothing: for benchmarks and offline generation. */
    RequestMetrics NONE = new RequestMetrics() {
    };
}
