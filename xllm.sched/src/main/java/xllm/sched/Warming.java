package xllm.sched;

import xllm.api.FinishReason;
import xllm.engine.scheduler.RequestMetrics;
import xllm.kv.BlockAllocator;

/**
 * Stands between an engine and its metrics and prefix-cache listener while it warms up ({@link WarmUp}):
 * until {@link #live} is called only step times get through, so warm-up requests count nowhere a user looks
 * (request counts, latencies, speculation, the global KV index). Called on the engine thread.
 */
final class Warming implements RequestMetrics, BlockAllocator.CacheListener {
    private final ServiceMetrics metrics;
    private final BlockAllocator.CacheListener listener;
    private volatile boolean live;

    /** @param listener null for none */
    Warming(ServiceMetrics metrics, BlockAllocator.CacheListener listener) {
        this.metrics = metrics;
        this.listener = listener;
    }

    /** Warm-up is over: everything gets through from now on. */
    void live() {
        live = true;
    }

    @Override
    public void scheduledFirst(long waitNanos) {
        if (live) {
            metrics.scheduledFirst(waitNanos);
        }
    }

    @Override
    public void firstToken(long sinceArrivalNanos, int promptTokens) {
        if (live) {
            metrics.firstToken(sinceArrivalNanos, promptTokens);
        }
    }

    @Override
    public void nextToken(long gapNanos) {
        if (live) {
            metrics.nextToken(gapNanos);
        }
    }

    @Override
    public void preempted() {
        if (live) {
            metrics.preempted();
        }
    }

    @Override
    public void offlinePreempted() {
        if (live) {
            metrics.offlinePreempted();
        }
    }

    @Override
    public void requestEnded(FinishReason reason, long e2eNanos, int promptTokens, int cachedPromptTokens) {
        if (live) {
            metrics.requestEnded(reason, e2eNanos, promptTokens, cachedPromptTokens);
        }
    }

    @Override
    public void speculated(int drafted, int accepted) {
        if (live) {
            metrics.speculated(drafted, accepted);
        }
    }

    @Override
    public void stepExecuted(int prefillTokens, int decodes, long decodeContextTokens, long nanos) {
        metrics.stepExecuted(prefillTokens, decodes, decodeContextTokens, nanos);
    }

    @Override
    public void stored(long key) {
        if (live && listener != null) {
            listener.stored(key);
        }
    }

    @Override
    public void evicted(long key) {
        if (live && listener != null) {
            listener.evicted(key);
        }
    }
}
