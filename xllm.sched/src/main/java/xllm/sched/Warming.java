package xllm.sched;

import xllm.api.FinishReason;
import xllm.engine.scheduler.RequestMetrics;
import xllm.kv.BlockAllocator;

/**
 * Stands between an engine and its metrics and prefix-cache listener while it warms up ({@link WarmUp}):
 * until {@link #live} is called only step times get through, so warm-up requests count nowhere a user looks
 * (request counts, latencies, speculation, the global KV index). Called on the engine thread.
 *
 * <p>Until then request metrics go to a set of the same class that nobody reads, rather than past a flag: the
 * JIT compiles the engine's step during warm-up, and a branch never taken there was compiled as a trap that went
 * off at the first token after {@code /health}, sending the step back to be compiled again under load.
 */
final class Warming implements RequestMetrics, BlockAllocator.CacheListener {
    private final ServiceMetrics metrics;
    private final BlockAllocator.CacheListener listener;
    /** Where request metrics go: a discarded set while warming up, then {@link #metrics}. */
    private volatile ServiceMetrics counting;
    private volatile boolean live;

    /** @param listener null for none */
    Warming(ServiceMetrics metrics, BlockAllocator.CacheListener listener) {
        this.metrics = metrics;
        this.listener = listener;
        this.counting = new ServiceMetrics("warm-up");
    }

    /** Warm-up is over: everything gets through from now on. */
    void live() {
        counting = metrics;
        live = true;
    }

    @Override
    public void scheduledFirst(long waitNanos) {
        counting.scheduledFirst(waitNanos);
    }

    @Override
    public void firstToken(long sinceArrivalNanos, int promptTokens) {
        counting.firstToken(sinceArrivalNanos, promptTokens);
    }

    @Override
    public void nextToken(long gapNanos) {
        counting.nextToken(gapNanos);
    }

    @Override
    public void preempted() {
        counting.preempted();
    }

    @Override
    public void offlinePreempted() {
        counting.offlinePreempted();
    }

    @Override
    public void requestEnded(FinishReason reason, long e2eNanos, int promptTokens, int cachedPromptTokens) {
        counting.requestEnded(reason, e2eNanos, promptTokens, cachedPromptTokens);
    }

    @Override
    public void speculated(int drafted, int accepted) {
        counting.speculated(drafted, accepted);
    }

    @Override
    public void stepExecuted(int prefillTokens, int decodes, long decodeContextTokens, long nanos) {
        metrics.stepExecuted(prefillTokens, decodes, decodeContextTokens, nanos);
    }

    @Override
    public void stored(long key) {
        if (listener != null && live) {
            listener.stored(key);
        }
    }

    @Override
    public void evicted(long key) {
        if (listener != null && live) {
            listener.evicted(key);
        }
    }
}
