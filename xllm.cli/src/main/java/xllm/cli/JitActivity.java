package xllm.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Whether the JIT has settled, from the JVM's total compilation time: a warm-up goes on in rounds until
 * {@code quietRounds} in a row compile for at most {@code quietShare} of their time, so that what comes after it
 * does not share the cores with the compiler. One warm-up's rounds, on one thread.
 */
final class JitActivity {
    private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    private final double quietShare;
    private final int quietRounds;
    private int quietInARow;
    private long compiledBefore;
    private long roundStart;

    JitActivity(double quietShare, int quietRounds) {
        this.quietShare = quietShare;
        this.quietRounds = quietRounds;
    }

    /** A round of warm-up work begins. */
    void roundBegins() {
        compiledBefore = compileMillis();
        roundStart = System.nanoTime();
    }

    /** The round begun last has ended: it counts as quiet or breaks the run of quiet ones. */
    void roundEnded() {
        long roundMillis = (System.nanoTime() - roundStart) / 1_000_000;
        quietInARow = compileMillis() - compiledBefore <= quietShare * roundMillis ? quietInARow + 1 : 0;
    }

    /** True once the last {@code quietRounds} rounds were quiet. */
    boolean settled() {
        return quietInARow >= quietRounds;
    }

    /** Milliseconds spent compiling since the JVM started; 0 where the JVM does not measure it. */
    private long compileMillis() {
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }
}
