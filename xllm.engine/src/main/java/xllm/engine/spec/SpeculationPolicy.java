package xllm.engine.spec;

/**
 * How many drafts a sequence should verify in a step, so that speculation backs off where it does not pay.
 * Verifying a draft costs the step the time of one more token; it gains a token only when it and every draft
 * before it are accepted. With per-token acceptance {@code a}, draft {@code j} is worth its cost when
 * {@code a^j} exceeds the ratio of a token's marginal cost to the time a step spends per output token without
 * speculation. That ratio comes from a linear model of step time in the step's tokens, fitted as steps run:
 * near 0 while steps are bound by reading the weights (small batches: speculate deeply), near 1 once they are
 * bound by arithmetic (large batches: speculate only what is almost surely accepted). Each sequence's
 * acceptance is a running estimate; one that stopped drafting drifts back to the prior, so it tries again.
 * Owned by the engine loop thread.
 */
public final class SpeculationPolicy {
    /** Acceptance assumed of a sequence before it has drafted. */
    public static final double PRIOR_ACCEPTANCE = 0.6;
    /** Weight of the newest evidence in a sequence's acceptance estimate. */
    private static final double ACCEPTANCE_RATE = 0.3;
    /** How far an idle estimate moves back towards the prior each step. */
    private static final double RECOVERY_RATE = 0.05;
    /** How slowly the step-time fit forgets. */
    private static final double DECAY = 0.98;

    private final int maxDrafts;
    private final int disableByBatchSize;
    private double sw;
    private double sx;
    private double sy;
    private double sxx;
    private double sxy;

    public SpeculationPolicy(int maxDrafts, int disableByBatchSize) {
        this.maxDrafts = maxDrafts;
        this.disableByBatchSize = disableByBatchSize;
    }

    /** A step of {@code tokens} tokens took {@code nanos}, drafting included. */
    public void stepTook(int tokens, long nanos) {
        if (sw == 0) {
            // a weak prior until steps of other sizes are seen: a token costs 1/16 of the fixed cost
            double perToken = nanos / (tokens + 16.0);
            add(0, 16 * perToken, 0.5);
            add(64, 80 * perToken, 0.5);
        }
        sw *= DECAY;
        sx *= DECAY;
        sy *= DECAY;
        sxx *= DECAY;
        sxy *= DECAY;
        add(tokens, nanos, 1);
    }

    private void add(double x, double y, double w) {
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }

    /**
     * The threshold a draft's chance of being accepted must pass when {@code decoding} sequences decode this
     * step: a token's marginal cost over the time per output token without drafts, in [0, 1].
     */
    public double threshold(int decoding) {
        if (sw == 0) {
            return 0;
        }
        double variance = sw * sxx - sx * sx;
        double slope = variance > 0 ? (sw * sxy - sx * sy) / variance : 0;
        double intercept = (sy - slope * sx) / sw;
        slope = Math.max(slope, 0);
        intercept = Math.max(intercept, 0);
        double withoutDrafts = intercept + slope * decoding;
        return withoutDrafts <= 0 ? 1 : Math.min(1, slope * decoding / withoutDrafts);
    }

    /** Drafts worth verifying for a sequence with {@code acceptance}, at most {@code cap}. */
    public int drafts(double acceptance, double threshold, int decoding, int cap) {
        if (disableByBatchSize > 0 && decoding > disableByBatchSize) {
            return 0;
        }
        int limit = Math.min(maxDrafts, cap);
        int k = 0;
        double chance = acceptance;
        while (k < limit && chance > threshold) {
            k++;
            chance *= acceptance;
        }
        return k;
    }

    /** A sequence's acceptance after {@code accepted} of {@code drafted} drafts were taken (0 drafted: none tried). */
    public static double updated(double acceptance, int drafted, int accepted) {
        if (drafted == 0) {
            return acceptance + (PRIOR_ACCEPTANCE - acceptance) * RECOVERY_RATE;
        }
        // drafts are tried in order until one is rejected: accepted successes in min(accepted + 1, drafted) trials
        int trials = Math.min(accepted + 1, drafted);
        double observed = (double) accepted / trials;
        double weight = 1 - Math.pow(1 - ACCEPTANCE_RATE, trials);
        return acceptance + (observed - acceptance) * weight;
    }
}
