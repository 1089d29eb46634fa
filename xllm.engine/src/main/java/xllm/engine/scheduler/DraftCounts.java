package xllm.engine.scheduler;

/**
 * Counts the drafts an engine core verifies and reports nothing else: for offline generation and benchmarks.
 * Owned by the engine loop thread; read it between steps.
 */
public final class DraftCounts implements RequestMetrics {
    private long drafts;
    private long draftTokens;
    private long acceptedTokens;

    @Override
    public void speculated(int drafted, int accepted) {
        drafts++;
        draftTokens += drafted;
        acceptedTokens += accepted;
    }

    /** Times a sequence verified drafts in a step. */
    public long drafts() {
        return drafts;
    }

    public long draftTokens() {
        return draftTokens;
    }

    public long acceptedTokens() {
        return acceptedTokens;
    }
}
