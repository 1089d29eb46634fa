package xllm.engine.scheduler;

/**
 * Limits of one engine instance's continuous batching.
 *
 * @param maxNumBatchedTokens token budget of one step (prefill chunks plus decode tokens)
 * @param maxNumSeqs most sequences running at once
 * @param maxWaiting most requests queued beyond the running ones before new ones are refused (429)
 * @param prefixCaching reuse the KV blocks of cached prompt prefixes
 * @param offlineMaxBatch while online work runs, offline sequences decode only in steps of at most this many
 *     decoding sequences; {@link #OFFLINE_MAX_BATCH_AUTO} measures where decoding stops being memory-bound
 */
public record SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs, int maxWaiting, boolean prefixCaching,
        int offlineMaxBatch) {
    /** {@code offlineMaxBatch} read from this engine's own decode step times ({@link DecodeRoofline}). */
    public static final int OFFLINE_MAX_BATCH_AUTO = 0;

    public SchedulerConfig {
        if (maxNumBatchedTokens < 1 || maxNumSeqs < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("scheduler limits must be positive: max-num-batched-tokens="
                    + maxNumBatchedTokens + " max-num-seqs=" + maxNumSeqs + " max-waiting=" + maxWaiting);
        }
        if (offlineMaxBatch < 0) {
            throw new IllegalArgumentException("offline-max-batch must be auto or at least 1, got " + offlineMaxBatch);
        }
    }

    /** Limits with the offline batch measured ({@link #OFFLINE_MAX_BATCH_AUTO}). */
    public SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs, int maxWaiting, boolean prefixCaching) {
        this(maxNumBatchedTokens, maxNumSeqs, maxWaiting, prefixCaching, OFFLINE_MAX_BATCH_AUTO);
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(2048, 64, 1024, true);
    }

    public SchedulerConfig withOfflineMaxBatch(int value) {
        return new SchedulerConfig(maxNumBatchedTokens, maxNumSeqs, maxWaiting, prefixCaching, value);
    }
}
