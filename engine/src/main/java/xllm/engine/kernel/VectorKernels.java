package xllm.engine.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise kernels on activation rows held in heap float arrays. Stateless; any thread. */
public final class VectorKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorKernels() {
    }

    /** {@code out[o..o+n) = x[i..i+n) / rms(x) * weight}, the RMSNorm of Llama-family models. */
    public static void rmsNorm(float[] x, int xOffset, float[] weight, float eps, float[] out, int outOffset, int n) {
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
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            sum += a[aOffset + k] * b[bOffset + k];
        }
        return sum;
    }

    /** {@code y[i] += x[i]}: the residual connection. */
    public static void add(float[] y, int yOffset, float[] x, int xOffset, int n) {
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

    /** {@code siluMul} over {@code [offset, offset+n)} of both arrays. */
    public static void siluMul(float[] gate, float[] up, int offset, int n) {
        int i = offset;
        for (int bound = offset + S.loopBound(n); i < bound; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector sigmoid = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(sigmoid).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < offset + n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
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
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) {
            x[offset + i] *= inv;
        }
    }
}
