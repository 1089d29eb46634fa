package xllm.engine.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The copies of weights the native kernels read instead of the mapped files (panels of rows): allocated off-heap,
 * freed with the matrix that owns them, and counted, so that the resident-memory figures add them to the files'
 * mapped pages.
 */
final class RepackedWeights {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong BYTES = new AtomicLong();

    private RepackedWeights() {
    }

    /** {@code bytes} of 64-byte-aligned memory that lives, and is counted, as long as {@code owner} is reachable. */
    static MemorySegment allocate(Object owner, long bytes) {
        MemorySegment copy = Arena.ofAuto().allocate(bytes, 64);
        BYTES.addAndGet(bytes);
        CLEANER.register(owner, () -> BYTES.addAndGet(-bytes));
        return copy;
    }

    /** Bytes of repacked weights alive now, across every loaded model of this process. */
    static long bytes() {
        return BYTES.get();
    }
}
