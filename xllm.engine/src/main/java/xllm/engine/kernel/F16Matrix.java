package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.weights.Tensor;

/**
 * F16 weights: each row is widened once into a per-thread buffer, then dotted against every token.
 * Rarer than BF16 in checkpoints, so it trades the register tile for simplicity.
 */
public final class F16Matrix implements WeightMatrix {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final MemorySegment data;
    private final int rows;
    private final int cols;
    private final ThreadLocal<float[]> rowBuffer;

    F16Matrix(Tensor t) {
        this.data = t.data();
        this.rows = t.dim(0);
        this.cols = t.dim(1);
        this.rowBuffer = ThreadLocal.withInitial(() -> new float[cols]);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public void copyRow(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols * 2;
        for (int k = 0; k < cols; k++) {
            dst[dstOffset + k] = Float.float16ToFloat(data.get(I16, base + 2L * k));
        }
    }

    @Override
    public void multiply(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        float[] w = rowBuffer.get();
        int vecEnd = S.loopBound(cols);
        for (int r = rowStart; r < rowEnd; r++) {
            copyRow(r, w, 0);
            for (int t = 0; t < tokens; t++) {
                int xb = xOffset + t * cols;
                FloatVector acc = FloatVector.zero(S);
                for (int k = 0; k < vecEnd; k += S.length()) {
                    acc = FloatVector.fromArray(S, w, k).fma(FloatVector.fromArray(S, x, xb + k), acc);
                }
                float sum = acc.reduceLanes(VectorOperators.ADD);
                for (int k = vecEnd; k < cols; k++) {
                    sum += w[k] * x[xb + k];
                }
                out[outOffset + t * outStride + r] = sum;
            }
        }
    }
}
