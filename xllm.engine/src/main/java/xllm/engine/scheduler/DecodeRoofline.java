package xllm.engine.scheduler;

/**
 * The largest decode batch that is still memory-bound on this engine, read from its own decode steps: while a
 * step reads the weights once for the whole batch, one more sequence costs almost nothing, so offline work may
 * fill the batch up to there for free (the roofline's knee). Keeps a step-time estimate per batch size and
 * takes the largest batch whose step costs at most {@link #KNEE} times a batch of one. Owned by the engine
 * loop thread; allocates nothing after construction.
 */
final class DecodeRoofline {
    /** The limit until a small batch has been measured; also the least it explores up to. */
    static final int UNMEASURED_LIMIT = 8;
    /** A batch whose step costs at most this many single-sequence steps still grows throughput nearly linearly. */
    static final double KNEE = 1.5;
    /** Weight of a new step in a batch size's running estimate. */
    private static final double WEIGHT = 0.2;
    /** A step slower than this many times the estimate counts as only that slow: one stall barely moves the knee. */
    private static final double MAX_JUMP = 1.25;

    /** Estimated step nanoseconds by batch size; 0 where not measured. */
    private final double[] nanos;
    private int limit;

    /** @param maxBatch the largest decode batch the engine runs (its max-num-seqs) */
    DecodeRoofline(int maxBatch) {
        this.nanos = new double[maxBatch + 1];
        this.limit = Math.min(UNMEASURED_LIMIT, maxBatch);
    }

    /** A step that decoded one token for each of {@code batch} sequences took {@code stepNanos}. */
    void decodeStepTook(int batch, long stepNanos) {
        if (batch < 1 || batch >= nanos.length || stepNanos <= 0) {
            return;
        }
        double old = nanos[batch];
        nanos[batch] = old == 0 ? stepNanos : old + WEIGHT * (Math.min(stepNanos, MAX_JUMP * old) - old);
        limit = knee();
    }

    /** The largest decode batch still memory-bound, as measured so far. */
    int limit() {
        return limit;
    }

    /**
     * The smallest measured batch stands in for a batch of one (they cost nearly the same while memory-bound). While
     * every measured batch is still under the knee, the limit reaches past them (twice the largest), so that
     * larger batches get measured too.
     */
    private int knee() {
        int maxBatch = nanos.length - 1;
        int reference = 0;
        for (int b = 1; b <= Math.min(UNMEASURED_LIMIT, maxBatch) && reference == 0; b++) {
            reference = nanos[b] > 0 ? b : 0;
        }
        if (reference == 0) {
            return Math.min(UNMEASURED_LIMIT, maxBatch);
        }
        double budget = KNEE * nanos[reference];
        int fast = reference;
        int slow = 0;
        for (int b = reference + 1; b <= maxBatch; b++) {
            if (nanos[b] > 0 && nanos[b] <= budget) {
                fast = b;
            } else if (nanos[b] > 0) {
                slow = b;
            }
        }
        if (slow > fast) {
            return fast; // the knee: a larger batch was measured past it
        }
        return Math.min(maxBatch, Math.max(UNMEASURED_LIMIT, 2 * fast));
    }
}
