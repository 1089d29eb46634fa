package xllm.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Set;
import xllm.engine.kernel.ComputePool;

/**
 * {@code xllm bench membw}: this machine's memory copy bandwidth (bytes read plus written per second)
 * with one copying thread per core, the ceiling a memory-bound decode step is measured against.
 */
final class MemoryBandwidth {
    private MemoryBandwidth() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("bench membw", argv, 2, Set.of("--mb", "--threads"), Set.of());
        long bytes = (long) args.integer("--mb", 512) << 20;
        try (Arena arena = Arena.ofShared(); ComputePool pool = new ComputePool(GenerateCommand.threads(args))) {
            MemorySegment src = arena.allocate(bytes, 4096);
            MemorySegment dst = arena.allocate(bytes, 4096);
            src.fill((byte) 1);
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
        }
        return 0;
    }
}
