package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import xllm.engine.weights.Tensor;

/**
 * F32 weights: read straight from the mapping by the Vector API kernels and for embedding lookups; the native
 * kernels read them repacked into their panels where the library wants panels (as {@link Bf16Matrix}).
 */
public final class F32Matrix extends VectorTiledMatrix {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The native kernels multiplying, or null for the Vector API ones. */
    private final NativeKernels kernels;
    /** What the native kernel reads: the weights repacked into its panels, or as stored when it wants no panels. */
    private final MemorySegment nativeWeights;

    F32Matrix(Tensor t) {
        this(t, NativeKernels.active());
    }

    /** With {@code kernels} (null: the Vector API ones). */
    F32Matrix(Tensor t, NativeKernels kernels) {
        super(t, Float.BYTES);
        this.kernels = kernels;
        this.nativeWeights = kernels == null ? data
                : RepackedWeights.repack(this, kernels.f32PanelBytes(rows, cols), data, panels -> kernels.f32Repack(data, rows, cols, panels));
    }

    @Override
    public void copyRow(int row, float[] dst, int dstOffset) {
        MemorySegment.copy(data, F32, row * rowBytes, dst, dstOffset, cols);
    }

    @Override
    FloatVector load(long rowBase, int k) {
        return FloatVector.fromMemorySegment(S, data, rowBase + (long) k * Float.BYTES, LE);
    }

    @Override
    float scalar(long rowBase, int k) {
        return data.get(F32, rowBase + (long) k * Float.BYTES);
    }

    @Override
    public void multiply(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        if (kernels != null) {
            kernels.f32Gemm(nativeWeights, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        } else {
            multiplyTiled(x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        }
    }
}
