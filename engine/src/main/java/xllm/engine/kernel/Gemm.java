package xllm.engine.kernel;

/** Batched matrix multiplication over all tokens of a step, split by weight rows across the pool. */
public final class Gemm {
    /** Rows per work unit: a multiple of the kernels' row tile, large enough to amortize dispatch. */
    private static final int ROW_GRAIN = 16;

    private Gemm() {
    }

    /** {@code out[t][r] = x[t] . W[r]} for all tokens, written at {@code out[outOffset + t*outStride + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out, int outOffset, int outStride) {
        multiply(pool, w, x, 0, tokens, out, outOffset, outStride);
    }

    /** As above, with token {@code t} read from {@code x[xOffset + t*cols]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int xOffset, int tokens, float[] out,
                                int outOffset, int outStride) {
        pool.parallelFor(w.rows(), ROW_GRAIN, (start, end, worker) ->
                w.multiply(x, xOffset, tokens, out, outOffset, outStride, start, end));
    }

    /** Dense output: {@code out[t*rows + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out) {
        multiply(pool, w, x, tokens, out, 0, w.rows());
    }
}
