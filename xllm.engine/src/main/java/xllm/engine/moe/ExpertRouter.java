package xllm.engine.moe;

/**
 * Turns one token's router logits into its experts and their weights. Stateless per call: any compute
 * thread, each with its own scratch.
 */
public interface ExpertRouter {
    int numExperts();

    /** Experts each token goes to. */
    int topK();

    /** Floats of scratch {@link #route} needs. */
    int scratchFloats();

    /**
     * Reads the logits {@code logits[offset .. offset+numExperts())} (and may overwrite them); writes
     * {@code topK()} expert ids, ascending, to {@code experts[outOffset ..]} and their weights to
     * {@code weights[outOffset ..]}.
     */
    void route(float[] logits, int offset, int[] experts, float[] weights, int outOffset, float[] scratch);
}
