package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.weights.Tensor;

/**
 * A mapped row-major matrix whose rows load as float vectors ({@link F32Matrix} as they are, {@link Bf16Matrix}
 * widened), multiplied with the Vector API where the native kernels do not run: a register tile of 4 rows x
 * 4 tokens of FMA accumulators, so each weight vector is loaded once for four tokens. A subclass says only
 * how a row's lanes load. Immutable; {@link #multiplyTiled} may run on many threads over disjoint rows.
 *
 * <p>Each dot product is its lane-wise FMAs, then the lane sum, then the columns past the last full vector,
 * the same way on every path, so a token's result does not depend on its batch.
 */
abstract sealed class VectorTiledMatrix implements WeightMatrix permits F32Matrix, Bf16Matrix {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    final MemorySegment data;
    final int rows;
    final int cols;
    final long rowBytes;

    VectorTiledMatrix(Tensor t, int elementBytes) {
        this.data = t.data();
        this.rows = t.dim(0);
        this.cols = t.dim(1);
        this.rowBytes = (long) cols * elementBytes;
    }

    /** The {@link #S}-lane vector of the row at byte {@code rowBase} from column {@code k}, as floats. */
    abstract FloatVector load(long rowBase, int k);

    /** Column {@code k} of the row at byte {@code rowBase}, as a float. */
    abstract float scalar(long rowBase, int k);

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    /** {@link #multiply} on the Vector API. */
    final void multiplyTiled(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        int r = rowStart;
        for (; r + 4 <= rowEnd; r += 4) {
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                tile4x4(x, xOffset + t * cols, out, outOffset + t * outStride + r, outStride, r);
            }
            for (; t < tokens; t++) {
                tile4x1(x, xOffset + t * cols, out, outOffset + t * outStride + r, r);
            }
        }
        for (; r < rowEnd; r++) {
            for (int t = 0; t < tokens; t++) {
                long b0 = r * rowBytes;
                int x0 = xOffset + t * cols;
                FloatVector a0 = FloatVector.zero(S);
                for (int k = 0, vecEnd = S.loopBound(cols); k < vecEnd; k += S.length()) {
                    a0 = load(b0, k).fma(FloatVector.fromArray(S, x, x0 + k), a0);
                }
                out[outOffset + t * outStride + r] = a0.reduceLanes(VectorOperators.ADD) + tail(b0, x, x0);
            }
        }
    }

    /** Rows r..r+3 against the four tokens from {@code x[x0]}: each weight vector loaded once, used four times. */
    private void tile4x4(float[] x, int x0, float[] out, int o, int outStride, int r) {
        final int vecEnd = S.loopBound(cols);
        long b0 = r * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int k = 0; k < vecEnd; k += S.length()) {
            FloatVector v0 = FloatVector.fromArray(S, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(S, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(S, x, x2 + k);
            FloatVector v3 = FloatVector.fromArray(S, x, x3 + k);
            FloatVector w = load(b0, k);
            a00 = w.fma(v0, a00); a01 = w.fma(v1, a01); a02 = w.fma(v2, a02); a03 = w.fma(v3, a03);
            w = load(b1, k);
            a10 = w.fma(v0, a10); a11 = w.fma(v1, a11); a12 = w.fma(v2, a12); a13 = w.fma(v3, a13);
            w = load(b2, k);
            a20 = w.fma(v0, a20); a21 = w.fma(v1, a21); a22 = w.fma(v2, a22); a23 = w.fma(v3, a23);
            w = load(b3, k);
            a30 = w.fma(v0, a30); a31 = w.fma(v1, a31); a32 = w.fma(v2, a32); a33 = w.fma(v3, a33);
        }
        // reduced here, not in a helper taking vectors: vectors passed to a non-inlined call get boxed
        out[o] = a00.reduceLanes(VectorOperators.ADD) + tail(b0, x, x0);
        out[o + 1] = a10.reduceLanes(VectorOperators.ADD) + tail(b1, x, x0);
        out[o + 2] = a20.reduceLanes(VectorOperators.ADD) + tail(b2, x, x0);
        out[o + 3] = a30.reduceLanes(VectorOperators.ADD) + tail(b3, x, x0);
        o += outStride;
        out[o] = a01.reduceLanes(VectorOperators.ADD) + tail(b0, x, x1);
        out[o + 1] = a11.reduceLanes(VectorOperators.ADD) + tail(b1, x, x1);
        out[o + 2] = a21.reduceLanes(VectorOperators.ADD) + tail(b2, x, x1);
        out[o + 3] = a31.reduceLanes(VectorOperators.ADD) + tail(b3, x, x1);
        o += outStride;
        out[o] = a02.reduceLanes(VectorOperators.ADD) + tail(b0, x, x2);
        out[o + 1] = a12.reduceLanes(VectorOperators.ADD) + tail(b1, x, x2);
        out[o + 2] = a22.reduceLanes(VectorOperators.ADD) + tail(b2, x, x2);
        out[o + 3] = a32.reduceLanes(VectorOperators.ADD) + tail(b3, x, x2);
        o += outStride;
        out[o] = a03.reduceLanes(VectorOperators.ADD) + tail(b0, x, x3);
        out[o + 1] = a13.reduceLanes(VectorOperators.ADD) + tail(b1, x, x3);
        out[o + 2] = a23.reduceLanes(VectorOperators.ADD) + tail(b2, x, x3);
        out[o + 3] = a33.reduceLanes(VectorOperators.ADD) + tail(b3, x, x3);
    }

    /** Rows r..r+3 against the token at {@code x[x0]}: the decode shape. */
    private void tile4x1(float[] x, int x0, float[] out, int o, int r) {
        final int vecEnd = S.loopBound(cols);
        long b0 = r * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < vecEnd; k += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, x0 + k);
            a0 = load(b0, k).fma(v, a0);
            a1 = load(b1, k).fma(v, a1);
            a2 = load(b2, k).fma(v, a2);
            a3 = load(b3, k).fma(v, a3);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD) + tail(b0, x, x0);
        out[o + 1] = a1.reduceLanes(VectorOperators.ADD) + tail(b1, x, x0);
        out[o + 2] = a2.reduceLanes(VectorOperators.ADD) + tail(b2, x, x0);
        out[o + 3] = a3.reduceLanes(VectorOperators.ADD) + tail(b3, x, x0);
    }

    /**
     * The columns past the last full vector, summed separately and added to the lane sum the same way on
     * every path, so tiling never changes a result. Takes no vectors: were it not inlined, passing vectors
     * would box them.
     */
    private float tail(long rowBase, float[] x, int xBase) {
        float sum = 0;
        for (int k = S.loopBound(cols); k < cols; k++) {
            sum += scalar(rowBase, k) * x[xBase + k];
        }
        return sum;
    }
}
