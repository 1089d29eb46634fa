package xllm.engine.moe;

import xllm.engine.kernel.VectorKernels;

/**
 * Qwen3-MoE's (and Mixtral's) routing: softmax over all experts, the top k, their probabilities
 * renormalized to sum 1 when {@code normalize} ({@code norm_topk_prob}). A value; any thread.
 */
public record SoftmaxRouter(int numExperts, int topK, boolean normalize) implements ExpertRouter {

    public SoftmaxRouter {
        if (topK < 1 || topK > numExperts) {
            throw new IllegalArgumentException("num_experts_per_tok " + topK + " must lie in [1, " + numExperts + "]");
        }
    }

    @Override
    public int scratchFloats() {
        return 0;
    }

    @Override
    public void route(float[] logits, int offset, int[] experts, float[] weights, int outOffset, float[] scratch) {
        VectorKernels.softmax(logits, offset, numExperts);
        TopK.largest(logits, offset, numExperts, topK, experts, outOffset);
        float sum = TopK.gatherScores(logits, offset, experts, weights, outOffset, topK);
        if (normalize) {
            for (int i = 0; i < topK; i++) {
                weights[outOffset + i] /= sum;
            }
        }
        TopK.sortByIndex(experts, weights, outOffset, topK);
    }
}
