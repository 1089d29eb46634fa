package xllm.engine.scheduler;

/**
 * Limits of one engine instance's continuous batching.
 *
 * @param maxNumBatchedTokens token budget of one step (prefill chunks plus decode tokens)
 * @param maxNumSeqs most sequences running at once
 * @param maxWaiting most requests queued beyond the running ones before new ones are refused (429)
 * @param prefixCaching reuse the KV blocks of cached prompt prefixes
 */
public record SchedulerConfig(int maxNumBatchedTokens, int maxNumSeqs, int maxWaiting, boolean prefixCaching) {
    public SchedulerConfig {
        if (maxNumBatchedTokens < 1 || maxNumSeqs < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("scheduler limits must be positive: max-num-batched-tokens="
                    + maxNumBatchedTokens + " max-num-seqs=" + maxNumSeqs + " max-waiting=" + maxWaiting);
        }
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(2048, 64, 1024, true);
    }
}
