package xllm.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import xllm.engine.kernel.ActivationPrecision;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.weights.DType;
import xllm.engine.weights.Quantizer;
import xllm.engine.weights.Tensor;

/**
 * One weight matrix times a batch of activation rows on one thread, by storage format and shape, as the
 * engine multiplies (packing of the activations included): the kernel behind every projection. Shapes are
 * pycoder-22m's MLP (1024x512) and Qwen2.5-0.5B's (4864x896); 1 token is the decode shape, 32 a batched
 * decode step, 512 a prefill chunk. {@code -Dxllm.kernels=java} in the fork's arguments measures the Vector
 * API kernels instead of the native ones.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBenchmark {
    @Param({"F32", "BF16", "Q8_0", "Q4_0"})
    public String dtype;

    @Param({"1024x512", "4864x896"})
    public String shape;

    @Param({"1", "32", "512"})
    public int tokens;

    /** What BF16 weights multiply against: bf16 (the default) or f32. */
    @Param({"bf16"})
    public String activations;

    private Arena arena;
    private ComputePool pool;
    private WeightMatrix matrix;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        arena = Arena.ofShared();
        MemorySegment f32 = arena.allocate((long) rows * cols * Float.BYTES, 64);
        SplittableRandom random = new SplittableRandom(1);
        for (long i = 0; i < (long) rows * cols; i++) {
            f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian() * 0.02f);
        }
        Tensor source = new Tensor("w", DType.F32, new long[] {rows, cols}, f32);
        Tensor stored = switch (DType.valueOf(dtype)) {
            case F32 -> source;
            case BF16 -> toBf16(source);
            case Q8_0, Q4_0 -> Quantizer.quantize(source, DType.valueOf(dtype), arena);
            default -> throw new IllegalArgumentException(dtype);
        };
        matrix = WeightMatrix.of(stored, ActivationPrecision.parse(activations));
        pool = new ComputePool(1);
        x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        out = new float[tokens * rows];
    }

    private Tensor toBf16(Tensor source) {
        long n = source.elementCount();
        MemorySegment bf16 = arena.allocate(n * 2, 64);
        for (long i = 0; i < n; i++) {
            bf16.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(source.get(i)) >>> 16));
        }
        return new Tensor("w", DType.BF16, source.shape(), bf16);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] multiply() {
        Gemm.multiply(pool, matrix, x, tokens, out);
        return out;
    }
}
