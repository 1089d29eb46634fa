package xllm.engine.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Batched matrix multiplication over all tokens of a step, split by weight rows across the pool. Up to
 * three matrices reading the same input (query, key and value; gate and up) share one parallel loop over
 * their rows put end to end, and one packing of the input. Each calling thread reuses one task object and
 * one buffer of packed activations, so a multiplication allocates nothing once the buffer has grown to
 * the largest step.
 */
public final class Gemm {
    /** Rows per work unit: a multiple of the kernels' row tile, large enough to amortize dispatch. */
    private static final int ROW_GRAIN = 16;
    /** Tokens per unit when activations are packed in parallel; fewer tokens are packed by the caller alone. */
    private static final int PACK_GRAIN = 8;
    private static final ThreadLocal<Task> TASK = ThreadLocal.withInitial(Task::new);

    /**
     * The arguments of the multiplication in flight; read by the pool's threads during parallelFor. The matrices are
     * fields, not an array: a store into an array of an interface type is checked against the types C2 saw stored
     * there, and a matrix class it had not seen at one of them (models mix quantized, BF16 and F32 matrices) sent
     * every caller that inlined it, attention and feed-forward, back to be compiled again under load.
     */
    private static final class Task implements ComputePool.RangeTask {
        WeightMatrix w0;
        WeightMatrix w1;
        WeightMatrix w2;
        float[] out0;
        float[] out1;
        float[] out2;
        int matrices;
        float[] x;
        int xOffset;
        int tokens;
        /** For a single matrix: where its output goes (several matrices write dense outputs). */
        int outOffset;
        int outStride;
        final PackTask packer = new PackTask();

        @Override
        public void run(int start, int end, int worker) {
            int first = 0;
            for (int m = 0; m < matrices && start < end; m++) {
                WeightMatrix w = matrix(m);
                int rows = w.rows();
                if (start < first + rows) {
                    int to = Math.min(end, first + rows);
                    multiplyRows(w, output(m), start - first, to - first);
                    start = to;
                }
                first += rows;
            }
        }

        private void multiplyRows(WeightMatrix m, float[] o, int rowStart, int rowEnd) {
            int offset = matrices == 1 ? outOffset : 0;
            int stride = matrices == 1 ? outStride : m.rows();
            if (packer.format == ActivationFormat.FLOAT) {
                m.multiply(x, xOffset, tokens, o, offset, stride, rowStart, rowEnd);
            } else {
                m.multiplyPacked(packer.packed, tokens, o, offset, stride, rowStart, rowEnd);
            }
        }

        WeightMatrix matrix(int m) {
            return m == 0 ? w0 : m == 1 ? w1 : w2;
        }

        float[] output(int m) {
            return m == 0 ? out0 : m == 1 ? out1 : out2;
        }

        void clear() {
            w0 = w1 = w2 = null;
            out0 = out1 = out2 = null;
            x = null;
        }
    }

    /** Activations packed once per multiplication for the native kernels. */
    private static final class PackTask implements ComputePool.RangeTask {
        ActivationFormat format = ActivationFormat.FLOAT;
        MemorySegment packed = MemorySegment.NULL;
        float[] x;
        int xOffset;
        int cols;

        @Override
        public void run(int start, int end, int worker) {
            format.pack(NativeKernels.active(), x, xOffset, start, end, cols, packed);
        }

        /** Packs on the pool, or on the calling thread alone when {@code pool} is null. */
        void pack(ComputePool pool, ActivationFormat f, float[] x, int xOffset, int tokens, int cols) {
            this.format = f;
            if (f == ActivationFormat.FLOAT) {
                return;
            }
            long bytes = f.packedBytes(NativeKernels.active(), tokens, cols);
            if (packed.byteSize() < bytes) {
                // grows to the largest step seen, then stays
                packed = Arena.ofAuto().allocate(Math.max(bytes, packed.byteSize() * 2), 64);
            }
            this.x = x;
            this.xOffset = xOffset;
            this.cols = cols;
            if (pool == null || tokens < 2 * PACK_GRAIN) {
                run(0, tokens, 0);
            } else {
                pool.parallelFor(tokens, PACK_GRAIN, this);
            }
            this.x = null;
        }
    }

    private Gemm() {
    }

    /**
     * Which kernels multiply: "native AVX2 for AMD Zen 3 (family 25, model 1): ..." (the library and the CPU target it
     * is configured for) or "Vector API (why the native ones are not in use)".
     */
    public static String kernels() {
        return NativeKernels.description();
    }

    /** Bytes of weights the native kernels hold repacked into their panels (beside the mapped model files). */
    public static long repackedWeightBytes() {
        return RepackedWeights.bytes();
    }

    /** {@code out[t][r] = x[t] . W[r]} for all tokens, written at {@code out[outOffset + t*outStride + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out, int outOffset, int outStride) {
        multiply(pool, w, x, 0, tokens, out, outOffset, outStride);
    }

    /** As above, with token {@code t} read from {@code x[xOffset + t*cols]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int xOffset, int tokens, float[] out,
                                int outOffset, int outStride) {
        Task task = TASK.get();
        task.w0 = w;
        task.out0 = out;
        task.matrices = 1;
        task.outOffset = outOffset;
        task.outStride = outStride;
        run(pool, task, x, xOffset, tokens);
    }

    /**
     * As {@link #multiply(ComputePool, WeightMatrix, float[], int, int, float[], int, int)}, all of it on the calling
     * thread: for a compute thread running its own share of a parallel loop (one expert's tokens, say), which
     * must not start another.
     */
    public static void multiplyOnThisThread(WeightMatrix w, float[] x, int xOffset, int tokens, float[] out, int outOffset,
                                            int outStride) {
        multiply(null, w, x, xOffset, tokens, out, outOffset, outStride);
    }

    /** Dense output: {@code out[t*rows + r]}. */
    public static void multiply(ComputePool pool, WeightMatrix w, float[] x, int tokens, float[] out) {
        multiply(pool, w, x, 0, tokens, out, 0, w.rows());
    }

    /** Two matrices of the same width against the same input, dense outputs, in one parallel loop. */
    public static void multiply(ComputePool pool, float[] x, int tokens, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB) {
        multiplyShared(pool, x, tokens, a, outA, b, outB, null, null);
    }

    /** Three matrices of the same width against the same input, dense outputs, in one parallel loop. */
    public static void multiply(ComputePool pool, float[] x, int tokens, WeightMatrix a, float[] outA, WeightMatrix b, float[] outB,
                                WeightMatrix c, float[] outC) {
        multiplyShared(pool, x, tokens, a, outA, b, outB, c, outC);
    }

    /** a, b and (unless null) c in one loop; matrices reading differently packed inputs go one at a time. */
    private static void multiplyShared(ComputePool pool, float[] x, int tokens, WeightMatrix a, float[] outA, WeightMatrix b,
                                       float[] outB, WeightMatrix c, float[] outC) {
        ActivationFormat format = a.activationFormat();
        if (b.activationFormat() != format || (c != null && c.activationFormat() != format)) {
            multiply(pool, a, x, tokens, outA);
            multiply(pool, b, x, tokens, outB);
            if (c != null) {
                multiply(pool, c, x, tokens, outC);
            }
            return;
        }
        Task task = TASK.get();
        task.w0 = a;
        task.w1 = b;
        task.w2 = c;
        task.out0 = outA;
        task.out1 = outB;
        task.out2 = outC;
        task.matrices = c == null ? 2 : 3;
        run(pool, task, x, 0, tokens);
    }

    /** Packs and multiplies over {@code pool}, or on the calling thread alone when {@code pool} is null. */
    private static void run(ComputePool pool, Task task, float[] x, int xOffset, int tokens) {
        WeightMatrix first = task.w0;
        int rows = 0;
        for (int m = 0; m < task.matrices; m++) {
            WeightMatrix w = task.matrix(m);
            if (w.cols() != first.cols()) {
                task.clear();
                throw new IllegalArgumentException("matrices sharing an input must have its width " + first.cols() + ", got " + w.cols());
            }
            rows += w.rows();
        }
        task.x = x;
        task.xOffset = xOffset;
        task.tokens = tokens;
        try {
            task.packer.pack(pool, first.activationFormat(), x, xOffset, tokens, first.cols());
            if (pool == null) {
                task.run(0, rows, 0);
            } else {
                pool.parallelFor(rows, ROW_GRAIN, task);
            }
        } finally {
            task.clear();
        }
    }
}
