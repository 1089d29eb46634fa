package xllm.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Address space taken without memory behind it: Linux {@code mmap} with {@code MAP_NORESERVE}, so that a page
 * becomes resident only when first written, and {@code madvise} to give pages back. What a large KV cap costs
 * is then what is used, not what is allowed. Stateless; the mappings belong to the arenas that own them.
 */
public final class ReservedMemory {
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    /** Private pages: dropped, read back as zeros. */
    private static final int MADV_DONTNEED = 4;
    /** Pages of a shared-memory file: the file's pages are freed too. */
    private static final int MADV_REMOVE = 9;
    /** Transparent huge pages for the range, where the kernel's setting is "madvise". */
    private static final int MADV_HUGEPAGE = 14;
    /** The x86-64 transparent huge page. */
    public static final long HUGE_PAGE = 2L << 20;
    static final long PAGE = 4096;
    /** Pages whose residency one mincore call reports: 256 MiB of memory per 64 KiB vector. */
    private static final int MINCORE_CHUNK_PAGES = 1 << 16;

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MINCORE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MADVISE = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        // critical: a system call that does not block, so it may write into a heap array
        MINCORE = linker.downcallHandle(libc.find("mincore").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
                Linker.Option.critical(true));
    }

    private ReservedMemory() {
    }

    /** {@code bytes} of zeroed address space, resident page by page as written; unmapped when {@code owner} closes. */
    public static MemorySegment reserve(long bytes, Arena owner) {
        long size = roundUp(Math.max(bytes, 1));
        MemorySegment at;
        try {
            at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed", t);
        }
        if (at.address() == -1L) {
            throw new OutOfMemoryError("cannot reserve " + size + " bytes of address space");
        }
        long address = at.address();
        return at.reinterpret(size, owner, unused -> unmap(address, size)).asSlice(0, bytes);
    }

    private static void unmap(long address, long size) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), size);
            if (rc != 0) {
                System.err.println("xllm: munmap of " + size + " bytes failed");
            }
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }

    /**
     * As {@link #reserve}, starting at a huge-page boundary and advised onto huge pages, so that every whole 2 MB of it
     * can be one: a fault gets a huge page only where the aligned 2 MB lies inside one mapping. One huge page more is
     * reserved to find the boundary in; that address space is never touched, so never resident.
     */
    public static MemorySegment reserveOnHugePages(long bytes, Arena owner) {
        long size = (Math.max(bytes, 1) + HUGE_PAGE - 1) & -HUGE_PAGE;
        MemorySegment reserved = reserve(size + HUGE_PAGE, owner);
        long skew = ((reserved.address() + HUGE_PAGE - 1) & -HUGE_PAGE) - reserved.address();
        MemorySegment aligned = reserved.asSlice(skew, size);
        preferHugePages(aligned);
        return aligned.asSlice(0, bytes);
    }

    /**
     * Asks for transparent huge pages behind {@code segment} (a mapping of {@link #reserve}): fewer TLB misses for
     * what is streamed through end to end. Advice only; false when the kernel declines it.
     */
    public static boolean preferHugePages(MemorySegment segment) {
        return adviseWholePages(segment.address(), segment.address() + segment.byteSize(), MADV_HUGEPAGE) > 0;
    }

    /**
     * Gives back the whole pages inside {@code [offset, offset + length)} of {@code segment}: private pages read
     * back as zeros, pages of a shared file are removed from it. Returns the bytes given back.
     */
    public static long release(MemorySegment segment, long offset, long length, boolean sharedFile) {
        long from = segment.address() + offset;
        return adviseWholePages(from, from + length, sharedFile ? MADV_REMOVE : MADV_DONTNEED);
    }

    /** {@code madvise(advice)} over the whole pages inside addresses {@code [from, to)}; the bytes advised, 0 when none or refused. */
    private static long adviseWholePages(long from, long to, int advice) {
        long start = roundUp(from);
        long end = to & -PAGE;
        if (end <= start) {
            return 0;
        }
        try {
            int rc = (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, advice);
            return rc == 0 ? end - start : 0;
        } catch (Throwable t) {
            throw new IllegalStateException("madvise failed", t);
        }
    }

    /**
     * Bytes of {@code segment}'s whole pages that are resident now. The page vector is a heap array passed to a
     * critical downcall rather than a scratch arena: the first confined arena a process opens loads a session class
     * that invalidates what C2 assumed about heap segments, and took every compiled kernel call of the engine's step
     * back to the interpreter at a server's first {@code /metrics} scrape.
     */
    public static long residentBytes(MemorySegment segment) {
        long start = segment.address() & -PAGE;
        long end = roundUp(segment.address() + segment.byteSize());
        long pages = (end - start) / PAGE;
        long resident = 0;
        byte[] vec = new byte[(int) Math.min(pages, MINCORE_CHUNK_PAGES)];
        try {
            for (long p = 0; p < pages; p += vec.length) {
                long n = Math.min(vec.length, pages - p);
                int rc = (int) MINCORE.invokeExact(MemorySegment.ofAddress(start + p * PAGE), n * PAGE, MemorySegment.ofArray(vec));
                if (rc != 0) {
                    return -1;
                }
                for (int i = 0; i < n; i++) {
                    resident += vec[i] & 1;
                }
            }
        } catch (Throwable t) {
            throw new IllegalStateException("mincore failed", t);
        }
        return resident * PAGE;
    }

    private static long roundUp(long v) {
        return (v + PAGE - 1) & -PAGE;
    }
}
