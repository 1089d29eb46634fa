package xllm.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How much the JIT has compiled, from the JVM's total compilation time: a warm-up goes on until its rounds add
 * little, so that what comes after it does not share the cores with the compiler.
 */
final class JitActivity {
    private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();

    /** Milliseconds spent compiling since the JVM started; 0 where the JVM does not measure it. */
    long compileMillis() {
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }
}
