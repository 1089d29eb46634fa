package xllm.cli;

import java.util.List;
import java.util.Set;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.PeakThroughput;

/**
 * {@code xllm bench peak}: the most the cores can do with each instruction the kernels use (fp32 FMA, bf16 and
 * int8 dot products), on one thread and on all of them, the ceilings a prefill rate is put against.
 */
final class PeakRates {
    private PeakRates() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("bench peak", argv, 2, Set.of("--ms", "--threads"), Set.of());
        int millis = args.integer("--ms", 300);
        if (millis < 1) {
            throw new UsageException("--ms must be positive, got " + millis);
        }
        try (ComputePool pool = new ComputePool(GenerateCommand.threads(args))) {
            System.out.println("kernels: " + Gemm.kernels());
            List<PeakThroughput.Rate> rates = PeakThroughput.measure(pool, millis);
            if (rates.isEmpty()) {
                System.out.println("no native kernel library runs on this CPU: nothing to measure");
                return 1;
            }
            for (PeakThroughput.Rate r : rates) {
                System.out.printf("%-46s %8.1f %s on 1 thread, %8.1f %s on %d threads%n", r.instruction(), r.oneThread(), r.unit(),
                        r.allThreads(), r.unit(), r.threads());
            }
        }
        return 0;
    }
}
