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
 * load), on transparent huge pages where the kernel allows, freed with the matrices that own them, and counted, so
 * that the resident-memory figures add them to the files' mapped pages.
 *
 * <p>Small matrices (an MoE expert's are 1 MB) are carved one after another out of shared chunks aligned to huge
 * pages. A mapping of their own each left most of them on 4 KB pages: a fault gets a huge page only where the whole
 * aligned 2 MB lies inside one mapping, and with 4 KB pages the hardware prefetcher stops at every page. On
 * qwen3-moe-small in BF16, 170 MB of 2.6 GB of panels were on huge pages. A chunk is unmapped when no matrix
 * carved from it is left, but for the one being filled, which stays for the next model loaded.
 */
final class RepackedWeights {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong BYTES = new AtomicLong();
    private static final long CHUNK = 16 * ReservedMemory.HUGE_PAGE;
    /** Matrices larger than this get huge pages of their own rather than a chunk's. */
    private static final long OWN_MAPPING = CHUNK / 4;
    private static final long ALIGNMENT = 4096;

    /** The chunk being filled, and how much of it is used; guarded by the class. */
    private static MemorySegment chunk;
    private static long chunkUsed;

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
        MemorySegment copy = carve(bytes);
        BYTES.addAndGet(bytes);
        CLEANER.register(owner, () -> BYTES.addAndGet(-bytes));
        repack.accept(copy);
        if (stored.isMapped()) {
            stored.unload();
        }
        return copy;
    }

    /** {@code bytes} of zeroed, page-aligned memory, in the chunk being filled when small enough. */
    private static synchronized MemorySegment carve(long bytes) {
        if (bytes > OWN_MAPPING) {
            return onHugePages(bytes);
        }
        if (chunk == null || chunkUsed + bytes > CHUNK) {
            chunk = onHugePages(CHUNK);
            chunkUsed = 0;
        }
        MemorySegment slice = chunk.asSlice(chunkUsed, bytes);
        chunkUsed = (chunkUsed + bytes + ALIGNMENT - 1) & -ALIGNMENT;
        return slice;
    }

    private static MemorySegment onHugePages(long bytes) {
        return ReservedMemory.reserveOnHugePages(bytes, Arena.ofAuto());
    }

    /** Bytes of repacked weights alive now, across every loaded model of this process. */
    static long bytes() {
        return BYTES.get();
    }
}
