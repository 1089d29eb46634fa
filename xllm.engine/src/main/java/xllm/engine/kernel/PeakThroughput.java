package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * This machine's ceilings: how many operations per second the instructions the kernels are built on allow, on
 * one thread and on every thread of a pool ({@code native/peak.c}), so that a measured rate can be put against
 * the most the cores could do. Only the instructions this CPU has are run.
 */
public final class PeakThroughput {
    /** One instruction's rate: operations (a multiply-add counts two) per second, alone and on all threads. */
    public record Rate(String instruction, String unit, double oneThread, double allThreads, int threads) {
    }

    /** A peak loop of {@code native/peak.c}: its symbol, what it runs, its operations per iteration, what it needs. */
    private record Loop(String symbol, String instruction, String unit, double opsPerIteration, int features) {
    }

    // each iteration: 12 instructions (peak.c's CHAINS); the operations of one instruction times 12
    private static final List<Loop> LOOPS = List.of(
            new Loop("xllm_peak_fma512", "fp32 FMA, 512-bit (vfmadd ps zmm)", "GFLOP/s", 12 * 16 * 2,
                    CpuTarget.FEATURE_AVX512),
            new Loop("xllm_peak_fma256", "fp32 FMA, 256-bit (vfmadd ps ymm)", "GFLOP/s", 12 * 8 * 2,
                    CpuTarget.FEATURE_AVX2 | CpuTarget.FEATURE_FMA),
            new Loop("xllm_peak_bf16dot512", "bf16 dot, 512-bit (vdpbf16ps zmm)", "GFLOP/s", 12 * 32 * 2,
                    CpuTarget.FEATURE_AVX512 | CpuTarget.FEATURE_BF16),
            new Loop("xllm_peak_vnni512", "int8 dot, 512-bit (vpdpbusd zmm)", "GOPS", 12 * 64 * 2,
                    CpuTarget.FEATURE_AVX512 | CpuTarget.FEATURE_VNNI),
            new Loop("xllm_peak_int8_256", "int8 dot, 256-bit (vpmaddubsw + vpmaddwd ymm)", "GOPS", 12 * 32 * 2,
                    CpuTarget.FEATURE_AVX2));

    /** Bytes per second (in billions) the native read loop reached, with its loads and software prefetch distance. */
    public record ReadRate(double gbps, String loads, int aheadBytes) {
    }

    /** Software prefetch distances the read loop tries, in bytes ahead of its loads (0: the hardware prefetcher alone). */
    private static final int[] READ_AHEAD = {0, 1024, 2048, 4096, 8192, 16384};
    private static final int READ_STEP = 256;

    private PeakThroughput() {
    }

    /**
     * Reads all of {@code memory} (64-byte aligned) {@code runs} times per prefetch distance, each thread of
     * {@code pool} its own contiguous share, with the native loop of 512-bit loads (256-bit without AVX-512): the
     * best distance's median. The read ceiling a decode step is put against, which reads its weights the same way.
     * Empty where no native library is loaded.
     */
    public static Optional<ReadRate> readBandwidth(ComputePool pool, MemorySegment memory, int runs) {
        boolean wide = true;
        Optional<MethodHandle> loop = NativeKernels.readLoop("xllm_peak_read512", CpuTarget.FEATURE_AVX512);
        if (loop.isEmpty()) {
            wide = false;
            loop = NativeKernels.readLoop("xllm_peak_read256", CpuTarget.FEATURE_AVX2);
        }
        if (loop.isEmpty()) {
            return Optional.empty();
        }
        MethodHandle read = loop.get();
        int threads = pool.threads();
        long share = memory.byteSize() / threads / READ_STEP * READ_STEP;
        ReadRate best = null;
        for (int ahead : READ_AHEAD) {
            double[] gbps = new double[runs];
            for (int run = 0; run < runs; run++) {
                long start = System.nanoTime();
                pool.parallelFor(threads, 1, (from, to, worker) -> {
                    for (int t = from; t < to; t++) {
                        read(read, memory.asSlice(t * share, share), ahead);
                    }
                });
                gbps[run] = (double) share * threads / (System.nanoTime() - start);
            }
            Arrays.sort(gbps);
            double median = gbps[runs / 2];
            if (best == null || median > best.gbps()) {
                best = new ReadRate(median, wide ? "512-bit loads" : "256-bit loads", ahead);
            }
        }
        return Optional.of(best);
    }

    private static void read(MethodHandle h, MemorySegment share, long ahead) {
        try {
            float ignored = (float) h.invokeExact(share, share.byteSize(), ahead);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs every loop this CPU has for about {@code millis} ms on one thread, then on all of {@code pool}'s
     * threads at once; the best of three runs each. Empty where no native library is loaded.
     */
    public static List<Rate> measure(ComputePool pool, long millis) {
        List<Rate> rates = new ArrayList<>();
        for (Loop loop : LOOPS) {
            Optional<MethodHandle> handle = NativeKernels.peakLoop(loop.symbol(), loop.features());
            if (handle.isEmpty()) {
                continue;
            }
            MethodHandle h = handle.get();
            long iterations = calibrate(h, millis);
            double one = 0;
            double all = 0;
            for (int run = 0; run < 3; run++) {
                one = Math.max(one, rate(null, h, iterations, loop.opsPerIteration()));
                all = Math.max(all, rate(pool, h, iterations, loop.opsPerIteration()));
            }
            rates.add(new Rate(loop.instruction(), loop.unit(), one, all, pool.threads()));
        }
        return rates;
    }

    /** Iterations that take about {@code millis} ms on one thread. */
    private static long calibrate(MethodHandle h, long millis) {
        long iterations = 100_000;
        while (true) {
            long start = System.nanoTime();
            run(h, iterations);
            long took = System.nanoTime() - start;
            if (took > millis * 100_000L || iterations > 1L << 40) { // a tenth of the time: scale up from there
                return Math.max(1, (long) (iterations * (millis * 1e6 / took)));
            }
            iterations *= 4;
        }
    }

    /** Operations per second (in billions) of {@code iterations} on each thread: of one thread when pool is null. */
    private static double rate(ComputePool pool, MethodHandle h, long iterations, double opsPerIteration) {
        long start = System.nanoTime();
        int threads = 1;
        if (pool == null) {
            run(h, iterations);
        } else {
            threads = pool.threads();
            pool.parallelFor(threads, 1, (from, to, worker) -> {
                for (int i = from; i < to; i++) {
                    run(h, iterations);
                }
            });
        }
        return threads * iterations * opsPerIteration / (System.nanoTime() - start);
    }

    private static void run(MethodHandle h, long iterations) {
        try {
            float ignored = (float) h.invokeExact(iterations);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
