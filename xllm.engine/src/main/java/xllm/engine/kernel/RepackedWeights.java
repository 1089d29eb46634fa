package xllm.engine.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

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

    /**
     * {@code bytes} of 64-byte-aligned memory, filled by {@code repack} from {@code stored}, that lives, and is
     * counted, as long as {@code owner} is reachable. The stored weights stay (for embedding lookups and other
     * paths); their mapped pages, read once here, go back to the page cache.
     */
    static MemorySegment repack(Object owner, long bytes, MemorySegment stored, Consumer<MemorySegment> repack) {
        MemorySegment copy = Arena.ofAuto().allocate(bytes, 64);
        BYTES.addAndGet(bytes);
        CLEANER.register(owner, () -> BYTES.addAndGet(-bytes));
        repack.accept(copy);
        if (stored.isMapped()) {
            stored.unload();
        }
        return copy;
    }

    /** Bytes of repacked weights alive now, across every loaded model of this process. */
    static long bytes() {
        return BYTES.get();
    }
}
