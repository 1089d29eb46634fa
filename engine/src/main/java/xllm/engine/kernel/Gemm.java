package xllm.engine.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Batched matrix multiplication over all tokens of a step, split by weight rows across the pool. Each
 * calling thread reuses one task object and one buffer of packed activations, so a multiplication
 * allocates nothing once the buffer has grown to the largest step.
 */
public final class Gemm {
    /** Rows per work unit: a multiple of the kernels' row tile, large enough to amortize dispatch. */
    private static final int ROW_GRAIN = 16;
    /** Tokens per unit when activations are packed in parallel; fewer tokens are packed by the caller alone. */
    private static final int PACK_GRAIN = 8;
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
        final PackTask packer = new PackTask();

        @Override
        public void run(int start, int end, int worker) {
            if (packer.format == ActivationFormat.FLOAT) {
                w.multiply(x, xOffset, tokens, out, outOffset, outStride, start, end);
            } else {
                w.multiplyPacked(packer.packed, tokens, out, outOffset, outStride, start, end);
            }
        }
    }

    /** Activations packed for the native kernels, and what they were packed from (for reuse by the next matrix). */
    private static final class PackTask implements ComputePool.RangeTask {
        ActivationFormat format = ActivationFormat.FLOAT;
        MemorySegment packed = MemorySegment.NULL;
        float[] x;
        int xOffset;
        int tokens;
        int cols;

        @Override
        public void run(int start, int end, int worker) {
            format.pack(x, xOffset, start, end, cols, packed);
        }

        void pack(ComputePool pool, ActivationFormat f, float[] x, int xOffset, int tokens, int cols, boolean reuse) {
            if (f == ActivationFormat.FLOAT) {
                forget();
                return;
            }
            if (reuse && f == format && x == this.x && xOffset == this.xOffset && tokens == this.tokens && cols == this.cols) {
                return;
            }
            long bytes = f.packedBytes(tokens, cols);
            if (packed.byteSize() < bytes) {
                // grows to the largest step seen, then stays
                packed = Arena.ofAuto().allocate(Math.max(bytes, packed.byteSize() * 2), 64);
            }
            this.format = f;
            this.x = x;
            this.xOffset = xOffset;
            this.tokens = tokens;
            this.cols = cols;
            if (tokens < 2 * PACK_GRAIN) {
                run(0, tokens, 0);
            } else {
                pool.parallelFor(tokens, PACK_GRAIN, this);
            }
        }

        void forget() {
            format = ActivationFormat.FLOAT;
            x = null;
        }
    }

    private Gemm() {
    }

    /** Which kernels multiply: "native (...)" or "Vector API (why the native ones are not in use)". */
    public static String kernels() {
        return NativeKernels.description();
    }

    /** {@code out[t][r] = x[t] . W[r]} for all tokens, written at {@code out[outOffset + t*outStride + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out, int outOffset, int outStride) {
        multiply(pool, w, x, 0, tokens, out, outOffset, outStride);
    }

    /** As above, with token {@code t} read from {@code x[xOffset + t*cols]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int xOffset, int tokens, float[] out,
                                int outOffset, int outStride) {
        run(pool, w, x, xOffset, tokens, out, outOffset, outStride, false);
    }

    /** Dense output: {@code out[t*rows + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out) {
        run(pool, w, x, 0, tokens, out, 0, w.rows(), false);
    }

    /**
     * Dense output, for an {@code x} left unchanged since the previous multiplication on this thread read it
     * (the key and value projections after the query's, up after gate): its packed form is reused.
     */
    public static void multiplySameInput(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out) {
        run(pool, w, x, 0, tokens, out, 0, w.rows(), true);
    }

    private static void run(ComputePool pool, WeightMatrix w, float[] x, int xOffset, int tokens, float[] out,
                            int outOffset, int outStride, boolean sameInput) {
        Task task = TASK.get();
        task.packer.pack(pool, w.activationFormat(), x, xOffset, tokens, w.cols(), sameInput);
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
}
