package xllm.engine.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import xllm.kv.ReservedMemory;

/**
 * The copies of weights the native kernels read instead of the mapped files (panels of rows): anonymous mappings
 * (outside the JVM's direct-memory limit, which is the heap's size: a model of more than that in panels failed to
 * load), on transparent huge pages where the kernel allows, freed with the matrix that owns them, and counted, so
 * that the resident-memory figures add them to the files' mapped pages.
 */
final class RepackedWeights {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong BYTES = new AtomicLong();

    private RepackedWeights() {
    }

    /**
     * {@code bytes} of page-aligned memory, filled by {@code repack} from {@code stored}, that lives, and is
     * counted, as long as {@code owner} is reachable. The stored weights stay (for embedding lookups and other
     * paths); their mapped pages, read once here, go back to the page cache. With {@code bytes} 0 (a library
     * whose kernel reads these weights as stored), {@code stored} itself.
     */
    static MemorySegment repack(Object owner, long bytes, MemorySegment stored, Consumer<MemorySegment> repack) {
        if (bytes == 0) {
            return stored;
        }
        MemorySegment copy = ReservedMemory.reserve(bytes, Arena.ofAuto());
        ReservedMemory.preferHugePages(copy);
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
