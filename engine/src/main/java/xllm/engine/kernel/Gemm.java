package xllm.engine.kernel;

/**
 * Batched matrix multiplication over all tokens of a step, split by weight rows across the pool. Each
 * calling thread reuses one task object, so a multiplication allocates nothing.
 */
public final class Gemm {
    /** Rows per work unit: a multiple of the kernels' row tile, large enough to amortize dispatch. */
    private static final int ROW_GRAIN = 16;
    private static final ThreadLocal<Task> TASK = ThreadLocal.withInitial(Task::new);

    /** The arguments of the multiplication in flight; read by the pool's threads during parallelFor. */
    private static final class Task implements ComputePool.RangeTask {
        WeightMatrix w;
        float[] x;
        int xOffset;
        int tokens;
        float[] out;
        int outOffset;
        int outStride;

        @Override
        public void run(int start, int end, int worker) {
            w.multiply(x, xOffset, tokens, out, outOffset, outStride, start, end);
        }
    }

    private Gemm() {
    }

    /** {@code out[t][r] = x[t] . W[r]} for all tokens, written at {@code out[outOffset + t*outStride + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out, int outOffset, int outStride) {
        multiply(pool, w, x, 0, tokens, out, outOffset, outStride);
    }

    /** As above, with token {@code t} read from {@code x[xOffset + t*cols]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int xOffset, int tokens, float[] out,
                                int outOffset, int outStride) {
        Task task = TASK.get();
        task.w = w;
        task.x = x;
        task.xOffset = xOffset;
        task.tokens = tokens;
        task.out = out;
        task.outOffset = outOffset;
        task.outStride = outStride;
        try {
            pool.parallelFor(w.rows(), ROW_GRAIN, task);
        } finally {
            task.w = null;
            task.x = null;
            task.out = null;
        }
    }

    /** Dense output: {@code out[t*rows + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out) {
        multiply(pool, w, x, tokens, out, 0, w.rows());
    }
}
