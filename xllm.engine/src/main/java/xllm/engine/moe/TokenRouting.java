package xllm.engine.moe;

import java.util.Arrays;

/**
 * One step's routing of one MoE layer: each token's {@code topK} experts and weights, and the grouping
 * that makes expert work contiguous: row {@code r} of the grouped buffers holds token {@code rowToken[r]},
 * an expert's rows are {@code [expertStart[e], expertStart[e+1])} in token order, and
 * {@code rowOf[t*topK + k]} is where token t's k-th choice landed. Grown to the largest step, then reused.
 * Filled on the engine loop; read by compute threads during the step.
 */
final class TokenRouting {
    final int topK;
    final int[] expertStart;
    int[] experts = new int[0];
    float[] weights = new float[0];
    int[] rowOf = new int[0];
    int[] rowToken = new int[0];
    private final int[] fill;

    TokenRouting(int numExperts, int topK) {
        this.topK = topK;
        this.expertStart = new int[numExperts + 1];
        this.fill = new int[numExperts];
    }

    void ensure(int tokens) {
        int n = tokens * topK;
        if (experts.length < n) {
            int size = Math.max(n, experts.length * 2);
            experts = new int[size];
            weights = new float[size];
            rowOf = new int[size];
            rowToken = new int[size];
        }
    }

    /** Groups the routed tokens by expert once {@code experts} is filled for {@code tokens} tokens. */
    void group(int tokens) {
        int numExperts = fill.length;
        Arrays.fill(expertStart, 0);
        for (int i = 0; i < tokens * topK; i++) {
            expertStart[experts[i] + 1]++;
        }
        for (int e = 0; e < numExperts; e++) {
            expertStart[e + 1] += expertStart[e];
        }
        System.arraycopy(expertStart, 0, fill, 0, numExperts);
        for (int t = 0; t < tokens; t++) {
            for (int k = 0; k < topK; k++) {
                int row = fill[experts[t * topK + k]]++;
                rowOf[t * topK + k] = row;
                rowToken[row] = t;
            }
        }
    }

    int tokensOf(int expert) {
        return expertStart[expert + 1] - expertStart[expert];
    }
}
