package xllm.engine.kernel;

import xllm.engine.weights.Tensor;

/**
 * A 2-D weight {@code [rows, cols]} in its stored format, multiplied against a batch of activation rows.
 * Each storage format is its own class with its own kernel (decoding happens inside the kernel, the
 * weights stay as mapped). Immutable; {@link #multiply} may run on many threads over disjoint rows.
 */
public sealed interface WeightMatrix permits VectorTiledMatrix, F16Matrix, QuantizedMatrix {
    int rows();

    int cols();

    /**
     * For every token {@code t < tokens} and row {@code r} in {@code [rowStart, rowEnd)}:
     * {@code out[outOffset + t*outStride + r] = dot(W[r], x[xOffset + t*cols() ...])}. The per-element
     * arithmetic does not depend on {@code tokens} or on the row range, so a sequence's result is the same
     * whatever batch it runs in.
     */
    void multiply(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd);

    /** {@link #multiply(float[], int, int, float[], int, int, int, int)} with the tokens at the start of {@code x}. */
    default void multiply(float[] x, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        multiply(x, 0, tokens, out, outOffset, outStride, rowStart, rowEnd);
    }

    /**
     * The form {@link Gemm} hands activations to this matrix in: {@link ActivationFormat#FLOAT} for
     * {@link #multiply}, otherwise packed once per multiplication for {@link #multiplyPacked}.
     */
    default ActivationFormat activationFormat() {
        return ActivationFormat.FLOAT;
    }

    /** As {@link #multiply}, against tokens packed in {@link #activationFormat()}. */
    default void multiplyPacked(java.lang.foreign.MemorySegment packed, int tokens, float[] out, int outOffset, int outStride,
                                int rowStart, int rowEnd) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " reads float activations");
    }

    /** Row {@code r} decoded to floats (embedding lookup). */
    void copyRow(int row, float[] dst, int dstOffset);

    /** A matrix for {@code t} multiplied against float activations. */
    static WeightMatrix of(Tensor t) {
        return of(t, ActivationPrecision.F32);
    }

    /**
     * A matrix for {@code t} that is only looked up ({@link #copyRow}), never multiplied at speed: an embedding
     * table that is not also the output projection. It reads the weights as stored, with no copy into the native
     * kernels' panels (a whole table's worth of memory: 1 GB for an 8B Llama in BF16).
     */
    static WeightMatrix forLookup(Tensor t) {
        requireMatrix(t);
        return switch (t.dtype()) {
            case F32 -> new F32Matrix(t, null);
            case BF16 -> new Bf16Matrix(t, false, null);
            case F16 -> new F16Matrix(t);
            case Q8_0, Q4_0 -> new QuantizedMatrix(t, null);
            case F8_E4M3 -> of(t);
        };
    }

    /** A matrix for {@code t}; BF16 weights multiply against activations of the given precision. */
    static WeightMatrix of(Tensor t, ActivationPrecision activations) {
        requireMatrix(t);
        return switch (t.dtype()) {
            case F32 -> new F32Matrix(t);
            case BF16 -> new Bf16Matrix(t, activations == ActivationPrecision.BF16);
            case F16 -> new F16Matrix(t);
            case Q8_0, Q4_0 -> new QuantizedMatrix(t);
            case F8_E4M3 -> throw new IllegalArgumentException("FP8 tensor " + t.name()
                    + " must be dequantized with its block scales before use (load it through LoadedWeights)");
        };
    }

    private static void requireMatrix(Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException("tensor " + t.name() + " must be 2-D, has shape " + java.util.Arrays.toString(t.shape()));
        }
    }
}
