package xllm.engine.moe;

/**
 * DeepSeek-V3's routing ("noaux_tc"): sigmoid scores; a per-expert correction bias, learned for load
 * balance, added for choosing only; experts split into {@code groups}, a group scored by the sum of its
 * two best biased scores, the best {@code keptGroups} groups kept and the top k experts chosen from them.
 * Weights are the unbiased scores, normalized to sum 1 when {@code normalize}, times
 * {@code scalingFactor}. Immutable; any thread.
 */
public final class GroupLimitedRouter implements ExpertRouter {
    private final int numExperts;
    private final int topK;
    private final int groups;
    private final int keptGroups;
    private final boolean normalize;
    private final float scalingFactor;
    private final float[] correctionBias;

    public GroupLimitedRouter(int numExperts, int topK, int groups, int keptGroups, boolean normalize,
                              float scalingFactor, float[] correctionBias) {
        if (groups < 1 || numExperts % groups != 0 || keptGroups < 1 || keptGroups > groups) {
            throw new IllegalArgumentException("n_group " + groups + " must divide n_routed_experts " + numExperts
                    + " and topk_group " + keptGroups + " must lie in [1, n_group]");
        }
        if (topK < 1 || topK > keptGroups * (numExperts / groups)) {
            throw new IllegalArgumentException("num_experts_per_tok " + topK + " exceeds the "
                    + keptGroups * (numExperts / groups) + " experts of the kept groups");
        }
        if (correctionBias != null && correctionBias.length != numExperts) {
            throw new IllegalArgumentException("e_score_correction_bias has " + correctionBias.length
                    + " entries for " + numExperts + " experts");
        }
        this.numExperts = numExperts;
        this.topK = topK;
        this.groups = groups;
        this.keptGroups = keptGroups;
        this.normalize = normalize;
        this.scalingFactor = scalingFactor;
        this.correctionBias = correctionBias;
    }

    @Override
    public int numExperts() {
        return numExperts;
    }

    @Override
    public int topK() {
        return topK;
    }

    /** Biased scores, then group scores. */
    @Override
    public int scratchFloats() {
        return numExperts + groups;
    }

    @Override
    public void route(float[] logits, int offset, int[] experts, float[] weights, int outOffset, float[] scratch) {
        float[] biased = scratch;
        for (int e = 0; e < numExperts; e++) {
            float score = (float) (1.0 / (1.0 + Math.exp(-logits[offset + e])));
            logits[offset + e] = score;
            biased[e] = correctionBias == null ? score : score + correctionBias[e];
        }
        int perGroup = numExperts / groups;
        int groupScores = numExperts;
        for (int g = 0; g < groups; g++) {
            scratch[groupScores + g] = bestTwoSum(biased, g * perGroup, perGroup);
        }
        for (int g = 0; g < groups; g++) {
            if (rank(scratch, groupScores, groups, g) >= keptGroups) {
                // a dropped group's experts cannot be chosen (Hugging Face masks them with 0.0 instead,
                // which differs only when every kept biased score is negative)
                java.util.Arrays.fill(biased, g * perGroup, (g + 1) * perGroup, Float.NEGATIVE_INFINITY);
            }
        }
        TopK.largest(biased, 0, numExperts, topK, experts, outOffset);
        float sum = TopK.gatherScores(logits, offset, experts, weights, outOffset, topK);
        float denominator = normalize ? sum + 1e-20f : 1f;
        for (int i = 0; i < topK; i++) {
            weights[outOffset + i] = weights[outOffset + i] / denominator * scalingFactor;
        }
        TopK.sortByIndex(experts, weights, outOffset, topK);
    }

    private static float bestTwoSum(float[] x, int from, int n) {
        float first = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            float v = x[i];
            if (v > first) {
                second = first;
                first = v;
            } else if (v > second) {
                second = v;
            }
        }
        return n == 1 ? first : first + second;
    }

    /** How many groups beat group {@code g}: higher score, or equal score and lower index (as TopK breaks ties). */
    private static int rank(float[] scores, int offset, int n, int g) {
        int better = 0;
        float mine = scores[offset + g];
        for (int i = 0; i < n; i++) {
            float other = scores[offset + i];
            if (other > mine || (other == mine && i < g)) {
                better++;
            }
        }
        return better;
    }
}
