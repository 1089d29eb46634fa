package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import xllm.engine.weights.Tensor;

/** F32 weights, read straight from the mapping. */
public final class F32Matrix extends VectorTiledMatrix {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The native kernels multiplying, or null for the Vector API ones. */
    private final NativeKernels kernels;

    F32Matrix(Tensor t) {
        this(t, NativeKernels.active());
    }

    /** With {@code kernels} (null: the Vector API ones). */
    F32Matrix(Tensor t, NativeKernels kernels) {
        super(t, Float.BYTES);
        this.kernels = kernels;
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
            kernels.f32Gemm(data, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        } else {
            multiplyTiled(x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        }
    }
}
