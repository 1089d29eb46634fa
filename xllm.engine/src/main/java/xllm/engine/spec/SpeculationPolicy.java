package xllm.engine.spec;

/**
 * How many drafts a sequence should verify in a step, so that speculation backs off where it does not pay.
 * A draft costs the time to propose it plus one more token in the target's pass; it gains a token only when
 * it and every draft before it are accepted. With per-token acceptance {@code a}, draft {@code j} is worth its
 * cost when {@code a^j} exceeds the ratio of that cost to the time a step spends per output token without
 * speculation. The target's side comes from its passes as they run: large ones (prefill chunks, large
 * batches) show a token's cost, decode passes the fixed cost of a pass; the proposer's side is its measured time
 * per draft. The ratio is near 0 while passes are bound by reading the
 * weights (small batches: speculate deeply) and near 1 once they are bound by arithmetic (large batches:
 * speculate only what is almost surely accepted). Until a large pass has been seen, a token is taken to cost a
 * fifth of a pass's fixed time, as on a CPU. Each sequence's acceptance is a running estimate;
 * one that stopped drafting drifts back to the prior, so it tries again. Owned by the engine loop thread.
 */
public final class SpeculationPolicy {
    /** Acceptance assumed of a sequence before it has drafted. */
    public static final double PRIOR_ACCEPTANCE = 0.6;
    /** Weight of the newest evidence in a sequence's acceptance estimate. */
    private static final double ACCEPTANCE_RATE = 0.3;
    /** How far an idle estimate moves back towards the prior each step. */
    private static final double RECOVERY_RATE = 0.05;
    /** Passes of at least this many tokens show what a token costs. */
    private static final int LARGE_PASS = 64;
    /** Weight of the newest large pass in a token's cost. */
    private static final double TOKEN_COST_RATE = 0.1;
    /** Weight of the newest decode pass in a pass's fixed cost. */
    private static final double PASS_COST_RATE = 0.1;
    /** What a sampled draft's chance of acceptance must pass: a small batch's threshold, fixed. */
    private static final double SAMPLED_THRESHOLD = 0.2;
    /** A token's cost relative to a pass's fixed time, assumed until measured. */
    private static final double PRIOR_SLOPE_RATIO = 0.2;
    /** How fast the proposer's cost per draft may rise, per step that drafts. */
    private static final double DRAFT_COST_DRIFT = 1.02;
    /** How fast it is taken to fall, per step that decodes without drafting, so that drafting is tried again. */
    private static final double UNMEASURED_DRAFT_COST_DECAY = 0.9;

    private final int maxDrafts;
    private final int disableByBatchSize;
    /** Recent nanos per token of the target's passes of at least {@value #LARGE_PASS} tokens; NaN before one. */
    private double tokenCost = Double.NaN;
    /** Recent nanos of a decode pass beyond its tokens' cost; NaN before one. */
    private double passCost = Double.NaN;
    /** The proposer's recent nanos per draft token. */
    private double draftCost;

    private final boolean adaptive;

    public SpeculationPolicy(int maxDrafts, int disableByBatchSize) {
        this(maxDrafts, disableByBatchSize, true);
    }

    private SpeculationPolicy(int maxDrafts, int disableByBatchSize, boolean adaptive) {
        this.maxDrafts = maxDrafts;
        this.disableByBatchSize = disableByBatchSize;
        this.adaptive = adaptive;
    }

    /**
     * A policy that drafts as deep as allowed whatever drafts cost or gain: to measure what a proposer's drafts
     * are worth, and for tests whose drafts must be verified however the machine performs.
     */
    public static SpeculationPolicy fixedDepth(int maxDrafts, int disableByBatchSize) {
        return new SpeculationPolicy(maxDrafts, disableByBatchSize, false);
    }

    /**
     * Forgets the costs measured so far: those of a warm-up, taken while the JIT was still compiling, would
     * otherwise hold the threshold high until a large pass comes, which a workload of short prompts never sends.
     */
    public void forgetCosts() {
        tokenCost = Double.NaN;
        passCost = Double.NaN;
        draftCost = 0;
    }

    /**
     * The proposer took {@code nanos} to draft {@code drafts} tokens. The cost kept is the lower envelope of
     * recent figures: a proposer that drafts after a pause (a draft model catching up on the tokens it missed)
     * takes longer than drafting costs when it is done step after step.
     */
    public void drafted(int drafts, long nanos) {
        if (drafts > 0) {
            double perDraft = (double) nanos / drafts;
            draftCost = draftCost == 0 ? perDraft : Math.min(perDraft, draftCost * DRAFT_COST_DRIFT);
        }
    }

    /**
     * Sequences decoded this step but none drafted. The proposer's cost is measured only when it drafts, so a
     * figure taken in a bad moment (the thread descheduled, a pause for GC) could otherwise hold the bar above
     * every sequence's acceptance for good; instead it is taken to fall until drafting is tried again and
     * measures it anew.
     */
    public void draftedNothing() {
        draftCost *= UNMEASURED_DRAFT_COST_DECAY;
    }

    /**
     * The target's pass over a step of {@code tokens} tokens took {@code nanos}; {@code decodeOnly} when every one
     * was a decode token or a draft. Large passes (prefill chunks, large batches) show a token's cost, bound by
     * arithmetic, a little over as they also carry the fixed cost; decode passes show that fixed cost, bound by
     * reading the weights. Both with a short memory: the JIT warming up and other load on the machine change
     * them as the engine runs.
     */
    public void stepTook(int tokens, long nanos, boolean decodeOnly) {
        if (tokens >= LARGE_PASS) {
            tokenCost = average(tokenCost, (double) nanos / tokens, TOKEN_COST_RATE);
        }
        if (decodeOnly) {
            double fixed = Double.isNaN(tokenCost) ? nanos / (1 + PRIOR_SLOPE_RATIO * tokens) : Math.max(0, nanos - tokenCost * tokens);
            passCost = average(passCost, fixed, PASS_COST_RATE);
        }
    }

    private static double average(double average, double sample, double rate) {
        return Double.isNaN(average) ? sample : average + (sample - average) * rate;
    }

    /**
     * The threshold a draft's chance of being accepted must pass when {@code decoding} sequences decode this
     * step: a draft's cost (proposing it, and a token in the target's pass) over the time per output token
     * without drafts, in [0, 1]; 0 (draft freely) before any decode pass was timed.
     */
    public double threshold(int decoding) {
        if (Double.isNaN(passCost)) {
            return 0;
        }
        double token = Double.isNaN(tokenCost) ? PRIOR_SLOPE_RATIO * passCost : tokenCost;
        double withoutDrafts = passCost + token * decoding;
        return withoutDrafts <= 0 ? 1 : Math.min(1, (token + draftCost) * decoding / withoutDrafts);
    }

    /**
     * Drafts for a sequence whose drafts are sampled: by its acceptance alone against a fixed threshold, never
     * by step times or the batch, since with sampled drafts how deep a sequence drafts changes its tokens and a
     * seed must give the same tokens every time.
     */
    public int sampledDrafts(double acceptance, int cap) {
        if (!adaptive) {
            return Math.min(maxDrafts, cap);
        }
        return depth(acceptance, SAMPLED_THRESHOLD, Math.min(maxDrafts, cap));
    }

    /** Drafts worth verifying for a sequence with {@code acceptance}, at most {@code cap}. */
    public int drafts(double acceptance, double threshold, int decoding, int cap) {
        if (disableByBatchSize > 0 && decoding > disableByBatchSize) {
            return 0;
        }
        int limit = Math.min(maxDrafts, cap);
        return adaptive ? depth(acceptance, threshold, limit) : limit;
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
