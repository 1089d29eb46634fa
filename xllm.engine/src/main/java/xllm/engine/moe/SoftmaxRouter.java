package xllm.engine.moe;

import xllm.engine.kernel.VectorKernels;

/**
 * Qwen3-MoE's (and Mixtral's) routing: softmax over all experts, the top k, their probabilities
 * renormalized to sum 1 when {@code normalize} ({@code norm_topk_prob}). Immutable; any thread.
 */
public final class SoftmaxRouter implements ExpertRouter {
    private final int numExperts;
    private final int topK;
    private final boolean normalize;

    public SoftmaxRouter(int numExperts, int topK, boolean normalize) {
        if (topK < 1 || topK > numExperts) {
            throw new IllegalArgumentException("num_experts_per_tok " + topK + " must lie in [1, " + numExperts + "]");
        }
        this.numExperts = numExperts;
        this.topK = topK;
        this.normalize = normalize;
    }

    @Override
    public int numExperts() {
        return numExperts;
    }

    @Override
    public int topK() {
        return topK;
    }

    @Override
    public int scratchFloats() {
        return 0;
    }

    @Override
    public void route(float[] logits, int offset, int[] experts, float[] weights, int outOffset, float[] scratch) {
        VectorKernels.softmax(logits, offset, numExperts);
        TopK.largest(logits, offset, numExperts, topK, experts, outOffset);
        float sum = 0;
        for (int i = 0; i < topK; i++) {
            float p = logits[offset + experts[outOffset + i]];
            weights[outOffset + i] = p;
            sum += p;
        }
        if (normalize) {
            for (int i = 0; i < topK; i++) {
                weights[outOffset + i] /= sum;
            }
        }
        TopK.sortByIndex(experts, weights, outOffset, topK);
    }
}
