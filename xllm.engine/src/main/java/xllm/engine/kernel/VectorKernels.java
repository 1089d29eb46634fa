package xllm.engine.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise kernels on activation rows held in heap float arrays. Stateless; any thread.
 *
 * <p>Where the native kernels run, the element-wise work of every step (RMSNorm, residual additions, SiLU-mul)
 * goes to them: code on the engine thread that the JIT has not yet intrinsified would run with boxed vectors.
 *
 * <p>Lane sums and exponentials are computed here in a fixed order from IEEE additions and multiplications
 * only, never with {@code reduceLanes(ADD)} or {@code lanewise(EXP)}: those may round differently once the
 * JIT has compiled a method than while it is interpreted, and when activations are then rounded to int8 or
 * bf16 such a difference can change a token. With these, a prompt gives the same tokens on a cold or a warm
 * process.
 */
public final class VectorKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Pairwise sum steps, lane i with lane i ^ h for h = 8, 4, 2, 1 (those below the vector's length). */
    private static final VectorShuffle<Float> FOLD8 = fold(8);
    private static final VectorShuffle<Float> FOLD4 = fold(4);
    private static final VectorShuffle<Float> FOLD2 = fold(2);
    private static final VectorShuffle<Float> FOLD1 = fold(1);
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Adding then subtracting 1.5 * 2^23 rounds a float to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    private static final float EXP_MIN = -87.3f;
    private static final float EXP_MAX = 88.3f;

    private static VectorShuffle<Float> fold(int h) {
        return VectorShuffle.fromOp(S, lane -> h < S.length() ? lane ^ h : lane);
    }

    private VectorKernels() {
    }

    /** {@code out[o..o+n) = x[i..i+n) / rms(x) * weight}, the RMSNorm of Llama-family models. */
    public static void rmsNorm(float[] x, int xOffset, float[] weight, float eps, float[] out, int outOffset, int n) {
        java.util.Objects.checkFromIndexSize(xOffset, n, x.length);
        java.util.Objects.checkFromIndexSize(outOffset, n, out.length);
        java.util.Objects.checkFromIndexSize(0, n, weight.length);
        if (NativeKernels.available()) {
            NativeKernels.active().rmsNorm(x, xOffset, weight, eps, out, outOffset, n);
            return;
        }
        float sumSq = dot(x, xOffset, x, xOffset, n);
        float scale = (float) (1.0 / Math.sqrt(sumSq / n + eps));
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            FloatVector.fromArray(S, x, xOffset + k).mul(scale).mul(FloatVector.fromArray(S, weight, k))
                    .intoArray(out, outOffset + k);
        }
        for (; k < n; k++) {
            out[outOffset + k] = x[xOffset + k] * scale * weight[k];
        }
    }

    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            acc = FloatVector.fromArray(S, a, aOffset + k).fma(FloatVector.fromArray(S, b, bOffset + k), acc);
        }
        float sum = sum(acc);
        for (; k < n; k++) {
            sum += a[aOffset + k] * b[bOffset + k];
        }
        return sum;
    }

    /** The sum of {@code x[offset..offset+n)}: vector lanes first, then {@link #sum(FloatVector)}, then the tail. */
    public static float sum(float[] x, int offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            acc = acc.add(FloatVector.fromArray(S, x, offset + k));
        }
        float sum = sum(acc);
        for (; k < n; k++) {
            sum += x[offset + k];
        }
        return sum;
    }

    /** {@code y[i] += x[i]}: the residual connection. */
    public static void add(float[] y, int yOffset, float[] x, int xOffset, int n) {
        java.util.Objects.checkFromIndexSize(yOffset, n, y.length);
        java.util.Objects.checkFromIndexSize(xOffset, n, x.length);
        if (NativeKernels.available()) {
            NativeKernels.active().add(y, yOffset, x, xOffset, n);
            return;
        }
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            FloatVector.fromArray(S, y, yOffset + k).add(FloatVector.fromArray(S, x, xOffset + k)).intoArray(y, yOffset + k);
        }
        for (; k < n; k++) {
            y[yOffset + k] += x[xOffset + k];
        }
    }

    /** {@code y[i] += a * x[i]}. */
    public static void addScaled(float[] y, int yOffset, float[] x, int xOffset, float a, int n) {
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            FloatVector.fromArray(S, x, xOffset + k).fma(FloatVector.broadcast(S, a), FloatVector.fromArray(S, y, yOffset + k)).intoArray(y, yOffset + k);
        }
        for (; k < n; k++) {
            y[yOffset + k] += a * x[xOffset + k];
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]}, the SwiGLU activation. */
    public static void siluMul(float[] gate, float[] up, int n) {
        siluMul(gate, up, 0, n);
    }

    /**
     * {@code siluMul} over {@code [offset, offset+n)} of both arrays; natively where the native kernels run, as it
     * runs on the engine thread between two multiplications and its exponentials are the costliest of that work.
     */
    public static void siluMul(float[] gate, float[] up, int offset, int n) {
        java.util.Objects.checkFromIndexSize(offset, n, Math.min(gate.length, up.length));
        if (NativeKernels.available()) {
            NativeKernels.active().siluMul(gate, up, offset, n);
            return;
        }
        int i = offset;
        for (int bound = offset + S.loopBound(n); i < bound; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector sigmoid = exp(g.neg()).add(1f);
            g.div(sigmoid).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < offset + n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + exp(-g)) * up[i];
        }
    }

    /** In-place softmax over {@code x[offset..offset+n)}; returns nothing, normalizes to sum 1. */
    public static void softmax(float[] x, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[offset + i] *= inv;
        }
    }

    /**
     * The sum of the lanes, in the same pairwise order however the code runs. The shuffles are constants so
     * that the JIT compiles each step to one permute (up to 16 lanes; AVX-512, AVX2 and NEON all fit).
     */
    public static float sum(FloatVector v) {
        if (S.length() > 8) {
            v = v.add(v.rearrange(FOLD8));
        }
        if (S.length() > 4) {
            v = v.add(v.rearrange(FOLD4));
        }
        if (S.length() > 2) {
            v = v.add(v.rearrange(FOLD2));
        }
        v = v.add(v.rearrange(FOLD1));
        return v.lane(0);
    }

    /**
     * {@code e^x} per lane (Cephes' expf: range reduction by ln 2, a degree-6 polynomial, the exponent set
     * by bits), within 2 ulp; inputs are clamped to [-87.3, 88.3], so it never returns 0 or infinity.
     */
    public static FloatVector exp(FloatVector x) {
        x = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector n = x.mul(LOG2E).add(ROUNDER).sub(ROUNDER);
        FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.mul(1.9875691500e-4f).add(1.3981999507e-3f).mul(r).add(8.3334519073e-3f).mul(r)
                .add(4.1665795894e-2f).mul(r).add(1.6666665459e-1f).mul(r).add(5.0000001201e-1f);
        p = p.mul(r.mul(r)).add(r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** {@link #exp(FloatVector)} for one value, with the same operations in the same order. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float n = x * LOG2E + ROUNDER - ROUNDER;
        float r = x - n * LN2_HI - n * LN2_LO;
        float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r
                + 1.6666665459e-1f) * r + 5.0000001201e-1f;
        p = p * (r * r) + r + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
