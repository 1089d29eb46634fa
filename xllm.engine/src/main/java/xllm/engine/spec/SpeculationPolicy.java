package xllm.engine.spec;

/**
 * How many drafts a sequence should verify in a step, so that speculation backs off where it does not pay.
 * Verifying a draft costs the step the time of one more token; it gains a token only when it and every draft
 * before it are accepted. With per-token acceptance {@code a}, draft {@code j} is worth its cost when
 * {@code a^j} exceeds the ratio of a token's marginal cost to the time a step spends per output token without
 * speculation. That ratio comes from a linear model of step time in the step's tokens, fitted over the steps
 * that only decode (a prefill chunk costs per token what a decode token does not) as they run:
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
    /** How slowly the step-time fit forgets: about the last 20 decode steps count. */
    private static final double DECAY = 0.95;
    /** Spread of step sizes (variance, in tokens squared) below which recent steps cannot show a token's cost. */
    private static final double MIN_SPREAD = 0.05;
    /** What a sampled draft's chance of acceptance must pass: a small batch's threshold, fixed. */
    private static final double SAMPLED_THRESHOLD = 0.2;
    /** Decode steps between probes. */
    private static final int PROBE_INTERVAL = 16;

    private final int maxDrafts;
    private final int disableByBatchSize;
    /** Decayed sums over recent decode steps of 1, tokens, nanos, tokens^2 and tokens*nanos. */
    private double sw;
    private double sx;
    private double sy;
    private double sxx;
    private double sxy;
    /** The fitted marginal nanos of a token, kept while recent steps all had the same size. */
    private double slope = Double.NaN;
    private long decodeSteps;

    public SpeculationPolicy(int maxDrafts, int disableByBatchSize) {
        this.maxDrafts = maxDrafts;
        this.disableByBatchSize = disableByBatchSize;
    }

    /** A step that only decoded, {@code tokens} tokens with the drafts verified, took {@code nanos}, drafting included. */
    public void decodeStepTook(int tokens, long nanos) {
        decodeSteps++;
        // a short memory: the JIT warming up and other load on the machine change step times as the engine runs
        sw = sw * DECAY + 1;
        sx = sx * DECAY + tokens;
        sy = sy * DECAY + nanos;
        sxx = sxx * DECAY + (double) tokens * tokens;
        sxy = sxy * DECAY + (double) tokens * nanos;
        double variance = sw * sxx - sx * sx;
        if (variance > MIN_SPREAD * sw * sw) {
            slope = Math.max(0, (sw * sxy - sx * sy) / variance);
        }
    }

    /**
     * The threshold a draft's chance of being accepted must pass when {@code decoding} sequences decode this
     * step: a token's marginal cost over the time per output token without drafts, in [0, 1]. 0 (draft freely)
     * until steps of different sizes have shown what a token costs.
     */
    public double threshold(int decoding) {
        if (Double.isNaN(slope)) {
            return 0;
        }
        double intercept = Math.max(0, (sy - slope * sx) / sw);
        double withoutDrafts = intercept + slope * decoding;
        return withoutDrafts <= 0 ? 1 : Math.min(1, slope * decoding / withoutDrafts);
    }

    /**
     * Whether this step should draft regardless of the threshold, to see again what drafts cost: once every
     * {@value #PROBE_INTERVAL} decode steps, so that a cost misjudged while the machine was busy is corrected.
     */
    public boolean probing() {
        return decodeSteps % PROBE_INTERVAL == PROBE_INTERVAL - 1;
    }

    /**
     * Drafts for a sequence whose drafts are sampled: by its acceptance alone against a fixed threshold, never
     * by step times or the batch, since with sampled drafts how deep a sequence drafts changes its tokens and a
     * seed must give the same tokens every time.
     */
    public int sampledDrafts(double acceptance, int cap) {
        return depth(acceptance, SAMPLED_THRESHOLD, Math.min(maxDrafts, cap));
    }

    /** Drafts worth verifying for a sequence with {@code acceptance}, at most {@code cap}. */
    public int drafts(double acceptance, double threshold, int decoding, int cap) {
        if (disableByBatchSize > 0 && decoding > disableByBatchSize) {
            return 0;
        }
        int limit = Math.min(maxDrafts, cap);
        if (probing() && acceptance >= PRIOR_ACCEPTANCE / 2) {
            return Math.min(1, limit);
        }
        return depth(acceptance, threshold, limit);
    }

    /** The most drafts, up to {@code limit}, whose chance of all being accepted stays above {@code threshold}. */
    private static int depth(double acceptance, double threshold, int limit) {
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
