package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import xllm.engine.weights.DType;
import xllm.engine.weights.Quantizer;
import xllm.engine.weights.Tensor;

/**
 * Every native library this CPU runs (the AVX2 one; on an AVX-512 machine that one too) against exact products of
 * the same (dequantized) weights, for shapes with an odd number of blocks, partial tiles and several row ranges; a
 * token's result unchanged by the batch it is multiplied in; and the element-wise kernels against exact values.
 */
class NativeKernelsTest {

    /** The libraries under test, each configured for this CPU; none (the tests skip) where no library runs. */
    static Stream<NativeKernels> libraries() {
        return NativeKernels.runnable().stream();
    }

    /** Each library crossed with the shapes of {@link #matchExactProductsAndIgnoreTheBatch}. */
    static Stream<Arguments> librariesAndShapes() {
        String[] shapes = {"Q8_0,96,37,1", "Q8_0,64,8,5", "Q8_0,896,67,9", "Q8_0,512,40,33", "Q4_0,96,37,1", "Q4_0,160,8,5", "Q4_0,896,67,9",
            "Q4_0,512,40,33", "BF16,96,37,1", "BF16,100,9,6", "BF16,896,67,9", "BF16,100,37,33", "F32,100,9,6", "F32,896,67,9", "F32,100,37,33"};
        return libraries().flatMap(k -> Stream.of(shapes).map(shape -> {
            String[] f = shape.split(",");
            return Arguments.of(k, DType.valueOf(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]));
        }));
    }

    @org.junit.jupiter.api.Test
    void theChosenLibraryIsNamedWithItsCpu() {
        assumeTrue(NativeKernels.available(), NativeKernels.description());
        String d = Gemm.kernels();
        CpuTarget t = NativeKernels.active().target();
        assertTrue(d.startsWith("native " + t.isa().label() + " for " + t.microarchitecture()), d);
        assertTrue(d.contains("decode tile " + t.decodeRows() + " rows"), d);
    }

    @ParameterizedTest(allowZeroInvocations = true)
    @MethodSource("librariesAndShapes")
    void matchExactProductsAndIgnoreTheBatch(NativeKernels kernels, DType dtype, int cols, int rows, int tokens) {
        SplittableRandom random = new SplittableRandom(cols * 31L + rows);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(kernels, dtype, rows, cols, random, arena, true);
            assertTrue(dtype == DType.F32 || w.activationFormat() != ActivationFormat.FLOAT, dtype + " uses the native kernel");
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian() * (i % 7 == 0 ? 4 : 1);
            }
            float[] batched = nativeProduct(kernels, w, x, tokens, arena);
            // rounding the activations (int8 blocks lose about 1/254 of each block's largest value, bf16 about
            // 2^-9 of each value) is all that separates the kernel from exact products
            double rounding = relativeError(batched, exactProduct(w, x, tokens));
            assertTrue(rounding < 0.01, dtype + " relative error " + rounding);
            double kernel = relativeError(batched, exactProduct(w, switch (dtype) {
                case F32 -> x;
                case BF16 -> bf16(x);
                default -> q8Blocks(x);
            }, tokens));
            assertTrue(kernel < 1e-5, dtype + " relative error against exact products of the rounded activations " + kernel);
            for (int t = 0; t < tokens; t++) {
                float[] alone = nativeProduct(kernels, w, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, arena);
                assertArrayEquals(alone, java.util.Arrays.copyOfRange(batched, t * rows, (t + 1) * rows), "token " + t + " alone and in the batch");
            }
        }
    }

    /** The float-activation shapes crossed with each library, and the Vector API kernels (null). */
    static Stream<Arguments> floatActivationShapes() {
        List<NativeKernels> all = new ArrayList<>(NativeKernels.runnable());
        all.add(null);
        return all.stream().flatMap(k -> Stream.of(new int[] {96, 37, 1}, new int[] {100, 9, 6}, new int[] {896, 67, 9}, new int[] {512, 40, 33})
                .map(s -> Arguments.of(k, s[0], s[1], s[2])));
    }

    @ParameterizedTest
    @MethodSource("floatActivationShapes")
    void bf16WeightsAgainstFloatActivationsMatchExactProducts(NativeKernels kernels, int cols, int rows, int tokens) {
        SplittableRandom random = new SplittableRandom(cols * 17L + tokens);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(kernels, DType.BF16, rows, cols, random, arena, false);
            assertTrue(w.activationFormat() == ActivationFormat.FLOAT, "float activations");
            float[] x = new float[tokens * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] batched = nativeProduct(kernels, w, x, tokens, arena);
            double error = relativeError(batched, exactProduct(w, x, tokens));
            assertTrue(error < 1e-6, "relative error against exact products " + error);
            for (int t = 0; t < tokens; t++) {
                float[] alone = nativeProduct(kernels, w, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, arena);
                float[] inBatch = java.util.Arrays.copyOfRange(batched, t * rows, (t + 1) * rows);
                if (kernels != null) {
                    assertArrayEquals(alone, inBatch, "token " + t + " alone and in the batch");
                } else {
                    // the Vector API tiles end with reduceLanes(ADD), whose order of additions C2 may change
                    // between two calls, so alone and batched agree only up to the last bits there
                    assertArrayEquals(alone, inBatch, 1e-6f * maxAbs(inBatch), "token " + t + " alone and in the batch");
                }
            }
        }
    }

    private static float maxAbs(float[] v) {
        float max = 0;
        for (float f : v) {
            max = Math.max(max, Math.abs(f));
        }
        return max;
    }

    @ParameterizedTest(allowZeroInvocations = true)
    @MethodSource("libraries")
    void siluMulMatchesExactValuesFromAnOffsetToARaggedEnd(NativeKernels kernels) {
        SplittableRandom random = new SplittableRandom(11);
        int offset = 5;
        int n = 1000 + 7;
        float[] gate = new float[offset + n + 3];
        float[] up = new float[gate.length];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) random.nextGaussian() * (i % 13 == 0 ? 40 : 3);
            up[i] = (float) random.nextGaussian();
        }
        float[] before = gate.clone();
        kernels.siluMul(gate, up, offset, n);
        for (int i = 0; i < gate.length; i++) {
            if (i < offset || i >= offset + n) {
                assertTrue(gate[i] == before[i], "element " + i + " outside the range is left alone");
                continue;
            }
            double g = before[i];
            double exact = g / (1 + Math.exp(-g)) * up[i];
            assertTrue(Math.abs(gate[i] - exact) <= 1e-6 * Math.max(1, Math.abs(exact)), "element " + i + ": " + gate[i] + " vs " + exact);
        }
    }

    @ParameterizedTest(allowZeroInvocations = true)
    @MethodSource("libraries")
    void rmsNormAndAddMatchExactValuesWithinTheirRange(NativeKernels kernels) {
        SplittableRandom random = new SplittableRandom(12);
        int n = 896 + 9;
        float[] x = new float[3 + n];
        float[] weight = new float[n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian() * 2;
        }
        for (int i = 0; i < n; i++) {
            weight[i] = (float) random.nextGaussian();
        }
        float[] out = new float[n + 4];
        kernels.rmsNorm(x, 3, weight, 1e-6f, out, 1, n);
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            sumSq += (double) x[3 + i] * x[3 + i];
        }
        double scale = 1 / Math.sqrt(sumSq / n + 1e-6);
        assertTrue(out[0] == 0 && out[n + 1] == 0, "nothing written outside the row");
        for (int i = 0; i < n; i++) {
            double exact = x[3 + i] * scale * weight[i];
            assertTrue(Math.abs(out[1 + i] - exact) <= 1e-5 * Math.max(1, Math.abs(exact)), "norm element " + i + ": " + out[1 + i] + " vs " + exact);
        }
        float[] y = out.clone();
        kernels.add(y, 1, x, 3, n);
        for (int i = 0; i < y.length; i++) {
            float expected = i >= 1 && i <= n ? out[i] + x[i + 2] : out[i];
            assertTrue(y[i] == expected, "sum element " + i);
        }
    }

    /** A matrix multiplied by {@code kernels}; {@code roundBf16}: BF16 weights against bf16-rounded activations, else against float ones. */
    private static WeightMatrix matrix(NativeKernels kernels, DType dtype, int rows, int cols, SplittableRandom random, Arena arena,
                                       boolean roundBf16) {
        MemorySegment f32 = arena.allocate((long) rows * cols * 4, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian() * 0.05f);
        }
        Tensor t = new Tensor("w", DType.F32, new long[] {rows, cols}, f32);
        if (dtype == DType.F32) {
            return new F32Matrix(t, kernels);
        }
        if (dtype == DType.BF16) {
            MemorySegment bf = arena.allocate((long) rows * cols * 2, 64);
            for (long i = 0; i < (long) rows * cols; i++) {
                bf.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(f32.getAtIndex(ValueLayout.JAVA_FLOAT, i)) >>> 16));
            }
            return new Bf16Matrix(new Tensor("w", DType.BF16, new long[] {rows, cols}, bf), roundBf16, kernels);
        }
        return new QuantizedMatrix(Quantizer.quantize(t, dtype, arena), kernels);
    }

    /** Packed once, split over row ranges as the pool would. */
    private static float[] nativeProduct(NativeKernels kernels, WeightMatrix w, float[] x, int tokens, Arena arena) {
        ActivationFormat f = w.activationFormat();
        if (f == ActivationFormat.FLOAT) {
            float[] out = new float[tokens * w.rows()];
            w.multiply(x, tokens, out, 0, w.rows(), 0, w.rows() / 3);
            w.multiply(x, tokens, out, 0, w.rows(), w.rows() / 3, w.rows());
            return out;
        }
        MemorySegment packed = arena.allocate(f.packedBytes(kernels, tokens, w.cols()), 64);
        f.pack(kernels, x, 0, 0, tokens, w.cols(), packed);
        float[] out = new float[tokens * w.rows()];
        int split = w.rows() / 3;
        w.multiplyPacked(packed, tokens, out, 0, w.rows(), 0, split);
        w.multiplyPacked(packed, tokens, out, 0, w.rows(), split, w.rows());
        return out;
    }

    private static double relativeError(float[] actual, double[] expected) {
        double err = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            err += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.sqrt(err / norm);
    }

    /** Each 32-value block rounded to int8 steps of its largest magnitude / 127, a step kept as fp16 (llama.cpp's q8_0). */
    private static float[] q8Blocks(float[] x) {
        float[] q = new float[x.length];
        for (int b = 0; b < x.length; b += 32) {
            float amax = 0;
            for (int i = b; i < b + 32; i++) {
                amax = Math.max(amax, Math.abs(x[i]));
            }
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax == 0 ? 0 : 127f / amax;
            for (int i = b; i < b + 32; i++) {
                q[i] = (float) Math.rint(x[i] * id) * d;
            }
        }
        return q;
    }

    private static float[] bf16(float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int bits = Float.floatToRawIntBits(x[i]);
            bits += 0x7FFF + ((bits >>> 16) & 1);
            r[i] = Float.intBitsToFloat(bits & 0xFFFF0000);
        }
        return r;
    }

    private static double[] exactProduct(WeightMatrix w, float[] x, int tokens) {
        double[] out = new double[tokens * w.rows()];
        float[] row = new float[w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            w.copyRow(r, row, 0);
            for (int t = 0; t < tokens; t++) {
                double s = 0;
                for (int k = 0; k < w.cols(); k++) {
                    s += (double) row[k] * x[t * w.cols() + k];
                }
                out[t * w.rows() + r] = s;
            }
        }
        return out;
    }
}
