package xllm.engine.model;

import xllm.engine.kernel.VectorKernels;

/** One pre-norm transformer block: {@code h = x + attn(norm(x)); y = h + ffn(norm(h))}. */
public record DecoderLayer(float[] attentionNorm, AttentionLayer attention, float[] feedForwardNorm, FeedForward feedForward) {
    /**
     * Applies the block in place to the {@code tokens x hidden} rows of {@code x}, every token of {@code pass};
     * {@code normed} and {@code out} are scratch of the same size. {@code layer} is the block's layer in the KV arena.
     */
    public void forward(ForwardPass pass, int layer, float eps, float[] x, float[] normed, float[] out) {
        int tokens = pass.batch().numTokens();
        int hidden = attentionNorm.length;
        normRows(x, attentionNorm, eps, normed, tokens, hidden);
        attention.forward(pass, layer, normed, out);
        VectorKernels.add(x, 0, out, 0, tokens * hidden);
        normRows(x, feedForwardNorm, eps, normed, tokens, hidden);
        feedForward.forward(pass, normed, out);
        VectorKernels.add(x, 0, out, 0, tokens * hidden);
    }

    private static void normRows(float[] x, float[] weight, float eps, float[] out, int tokens, int hidden) {
        for (int t = 0; t < tokens; t++) {
            VectorKernels.rmsNorm(x, t * hidden, weight, eps, out, t * hidden, hidden);
        }
    }
}
