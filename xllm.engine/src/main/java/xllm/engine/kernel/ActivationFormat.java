package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;

/**
 * How a weight matrix's kernel reads its activations: as the floats the model computes, or converted once
 * per multiplication (by the thread pool, before any row is multiplied) into a packed form that the native
 * kernels' integer or bf16 dot products take.
 */
public enum ActivationFormat {
    /** The float activations as they are. */
    FLOAT,
    /** int8 per 32-element block with an fp16-rounded scale (llama.cpp's q8_0), for Q8_0 and Q4_0 weights. */
    Q8_BLOCKS,
    /** Rounded to bf16, for BF16 weights when the activations may be rounded too. */
    BF16;

    /** Bytes of {@code tokens} packed for {@code kernels} (each library packs in its own layout). */
    long packedBytes(NativeKernels kernels, int tokens, int cols) {
        return switch (this) {
            case FLOAT -> 0;
            case Q8_BLOCKS -> kernels.q8PackedBytes(tokens, cols);
            case BF16 -> kernels.bf16PackedBytes(tokens, cols);
        };
    }

    void pack(NativeKernels kernels, float[] x, int xOffset, int start, int end, int cols, MemorySegment packed) {
        switch (this) {
            case FLOAT -> throw new IllegalStateException("float activations are not packed");
            case Q8_BLOCKS -> kernels.packQ8(x, xOffset, start, end, cols, packed);
            case BF16 -> kernels.packBf16(x, xOffset, start, end, cols, packed);
        }
    }
}
