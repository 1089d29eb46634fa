package xllm.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.PeakThroughput;
import xllm.kv.ReservedMemory;

/**
 * {@code xllm bench membw}: this machine's memory bandwidth with one thread per core: copying (bytes read plus
 * written per second) and reading alone (summing floats), the ceiling a memory-bound decode step, which reads
 * its weights and writes little, is measured against.
 */
final class MemoryBandwidth {
    private MemoryBandwidth() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("bench membw", argv, 2, Set.of("--mb", "--threads"), Set.of());
        long bytes = (long) args.integer("--mb", 512) << 20;
        try (Arena arena = Arena.ofShared(); ComputePool pool = new ComputePool(GenerateCommand.threads(args))) {
            // on huge pages, as the repacked weights are: on 4 KB pages the hardware prefetcher stops at every page,
            // and the read figure came out below what the decode kernels themselves read
            MemorySegment src = ReservedMemory.reserveOnHugePages(bytes, arena);
            MemorySegment dst = ReservedMemory.reserveOnHugePages(bytes, arena);
            src.fill((byte) 0x3F); // floats of 0.75: no subnormals to slow the sums down
            dst.fill((byte) 2);
            int chunks = pool.threads();
            long chunk = bytes / chunks;
            double[] gbps = new double[7];
            for (int run = 0; run < gbps.length; run++) {
                long start = System.nanoTime();
                pool.parallelFor(chunks, 1, (from, to, worker) -> {
                    for (int c = from; c < to; c++) {
                        MemorySegment.copy(src, c * chunk, dst, c * chunk, chunk);
                    }
                });
                gbps[run] = 2.0 * bytes / (System.nanoTime() - start);
            }
            Arrays.sort(gbps);
            System.out.printf("copy bandwidth: %.1f GB/s (median of %d copies of %d MB, %d threads; read + write)%n",
                    gbps[gbps.length / 2], gbps.length, bytes >> 20, pool.threads());
            double[] read = new double[gbps.length];
            float[] sums = new float[chunks];
            for (int run = 0; run < read.length; run++) {
                long start = System.nanoTime();
                pool.parallelFor(chunks, 1, (from, to, worker) -> {
                    for (int c = from; c < to; c++) {
                        sums[c] += sum(src, c * chunk, chunk);
                    }
                });
                read[run] = (double) bytes / (System.nanoTime() - start);
            }
            Arrays.sort(read);
            double vectorApi = read[read.length / 2];
            // the native loop reads as the decode kernels do (whole lines, a prefetch ahead), which the Vector API loop
            // did not: decode had come out at up to 113% of its figure on a Zen 5
            Optional<PeakThroughput.ReadRate> nativeRead = PeakThroughput.readBandwidth(pool, src, read.length);
            double best = vectorApi;
            String how = "";
            if (nativeRead.isPresent() && nativeRead.get().gbps() > vectorApi) {
                PeakThroughput.ReadRate r = nativeRead.get();
                best = r.gbps();
                how = String.format("native %s, prefetch %d bytes ahead; Vector API loop %.1f GB/s, ", r.loads(), r.aheadBytes(), vectorApi);
            }
            System.out.printf("read bandwidth: %.1f GB/s (median of %d passes over %d MB, %d threads; %schecksum %.0f)%n",
                    best, read.length, bytes >> 20, pool.threads(), how, sums[0]);
        }
        return 0;
    }

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    /** The floats of {@code bytes} bytes from {@code offset}, summed over four vectors so the loads overlap. */
    private static float sum(MemorySegment m, long offset, long bytes) {
        long step = FLOATS.vectorByteSize();
        FloatVector a = FloatVector.zero(FLOATS);
        FloatVector b = a;
        FloatVector c = a;
        FloatVector d = a;
        long end = offset + bytes - 4 * step;
        for (long i = offset; i <= end; i += 4 * step) {
            a = a.add(FloatVector.fromMemorySegment(FLOATS, m, i, ByteOrder.nativeOrder()));
            b = b.add(FloatVector.fromMemorySegment(FLOATS, m, i + step, ByteOrder.nativeOrder()));
            c = c.add(FloatVector.fromMemorySegment(FLOATS, m, i + 2 * step, ByteOrder.nativeOrder()));
            d = d.add(FloatVector.fromMemorySegment(FLOATS, m, i + 3 * step, ByteOrder.nativeOrder()));
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }
}
