package xllm.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import xllm.kv.files.PrivateFiles;

/**
 * The KV memory of one engine instance: a single off-heap segment cut into blocks of {@code blockSize}
 * token slots for every layer. A slot holds {@code floatsPerSlot} elements of the arena's {@link KvDtype}: for
 * standard attention the key then the value of every KV head; latent-attention layers store their
 * compressed latent instead.
 *
 * <p>Layout: block, then layer, then slot, so that one block's tokens of one layer are contiguous and a
 * block can be copied or shared as one unit. Owned by the engine loop; compute threads read and write
 * disjoint slots during a step.
 *
 * <p>An arena may live in a file in shared memory ({@link #createShared}) so that a co-located process can map
 * it ({@link #openPeer}) and copy blocks out of it: how a prefill worker hands a prompt's KV to a decode
 * worker. The file starts with a header page describing the layout, which the reader checks before trusting
 * any block id.
 */
public final class PageArena implements AutoCloseable {
    private static final long MAGIC = 0x784c4c4d4b563031L; // "xLLMKV01"
    private static final long HEADER_BYTES = 4096;

    private final Arena arena;
    private final MemorySegment memory;
    private final int numBlocks;
    private final int blockSize;
    private final int numLayers;
    private final int floatsPerSlot;
    private final KvDtype dtype;
    private final long layerStrideBytes;
    private final long blockStrideBytes;
    /** Whether the blocks live in a shared-memory file (given back with MADV_REMOVE) rather than private pages. */
    private final boolean sharedFile;

    /** An arena of float elements (tests and small caches). */
    public PageArena(int numBlocks, int blockSize, int numLayers, int floatsPerSlot) {
        this(numBlocks, blockSize, numLayers, floatsPerSlot, KvDtype.F32);
    }

    public PageArena(int numBlocks, int blockSize, int numLayers, int floatsPerSlot, KvDtype dtype) {
        this(Arena.ofShared(), null, numBlocks, blockSize, numLayers, floatsPerSlot, dtype);
    }

    /** @param memory the blocks, or null to allocate them in {@code arena} */
    private PageArena(Arena arena, MemorySegment memory, int numBlocks, int blockSize, int numLayers, int floatsPerSlot,
                      KvDtype dtype) {
        checkDimensions(numBlocks, blockSize, numLayers, floatsPerSlot);
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.numLayers = numLayers;
        this.floatsPerSlot = floatsPerSlot;
        this.dtype = dtype;
        this.layerStrideBytes = (long) blockSize * floatsPerSlot * dtype.bytes();
        this.blockStrideBytes = layerStrideBytes * numLayers;
        this.arena = arena;
        this.sharedFile = memory != null;
        // reserved, not allocated: a page becomes resident when a block first writes it
        this.memory = memory != null ? memory : ReservedMemory.reserve(blockStrideBytes * numBlocks, arena);
    }

    private static void checkDimensions(long numBlocks, long blockSize, long numLayers, long floatsPerSlot) {
        if (numBlocks < 1 || blockSize < 1 || numLayers < 1 || floatsPerSlot < 1
                || numBlocks > Integer.MAX_VALUE || blockSize > Integer.MAX_VALUE || numLayers > Integer.MAX_VALUE
                || floatsPerSlot > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("KV arena dimensions must be positive: blocks=" + numBlocks
                    + " blockSize=" + blockSize + " layers=" + numLayers + " floatsPerSlot=" + floatsPerSlot);
        }
    }

    /**
     * An arena in a new owner-only file (replacing any file there), mapped shared so that other processes of this user
     * can read its blocks; the file's pages are taken as blocks are first written.
     */
    public static PageArena createShared(Path file, int numBlocks, int blockSize, int numLayers, int floatsPerSlot, KvDtype dtype) {
        checkDimensions(numBlocks, blockSize, numLayers, floatsPerSlot);
        long blocksBytes = (long) numBlocks * numLayers * blockSize * floatsPerSlot * dtype.bytes();
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot replace the KV arena file " + file, e);
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = PrivateFiles.newFile(file, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_BYTES + blocksBytes, arena);
            mapped.set(ValueLayout.JAVA_LONG, 8, numBlocks);
            mapped.set(ValueLayout.JAVA_LONG, 16, blockSize);
            mapped.set(ValueLayout.JAVA_LONG, 24, numLayers);
            mapped.set(ValueLayout.JAVA_LONG, 32, floatsPerSlot);
            mapped.set(ValueLayout.JAVA_LONG, 40, dtype.ordinal());
            // the magic last: a reader that sees it sees the whole header
            mapped.set(ValueLayout.JAVA_LONG, 0, MAGIC);
            return new PageArena(arena, mapped.asSlice(HEADER_BYTES, blocksBytes), numBlocks, blockSize, numLayers, floatsPerSlot, dtype);
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot create the KV arena file " + file, io);
            }
            throw (RuntimeException) e;
        }
    }

    /**
     * Maps another process's arena file read-only. Its header is checked against the file's size, so that no
     * block of the returned arena lies outside the mapping; throws when the file is missing, torn or foreign.
     */
    public static PageArena openPeer(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new IllegalStateException("KV arena file " + file + " is too short (" + size + " bytes)");
            }
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (mapped.get(ValueLayout.JAVA_LONG, 0) != MAGIC) {
                throw new IllegalStateException("KV arena file " + file + " has no arena header");
            }
            long blocks = mapped.get(ValueLayout.JAVA_LONG, 8);
            long blockSize = mapped.get(ValueLayout.JAVA_LONG, 16);
            long layers = mapped.get(ValueLayout.JAVA_LONG, 24);
            long floats = mapped.get(ValueLayout.JAVA_LONG, 32);
            long dtype = mapped.get(ValueLayout.JAVA_LONG, 40);
            checkDimensions(blocks, blockSize, layers, floats);
            if (dtype < 0 || dtype >= KvDtype.values().length) {
                throw new IllegalStateException("KV arena file " + file + " names an unknown element type " + dtype);
            }
            KvDtype kvDtype = KvDtype.values()[(int) dtype];
            long blocksBytes = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(blocks, layers),
                    Math.multiplyExact(blockSize, floats)), kvDtype.bytes());
            if (blocksBytes > size - HEADER_BYTES) {
                throw new IllegalStateException("KV arena file " + file + " is shorter than its header says");
            }
            return new PageArena(arena, mapped.asSlice(HEADER_BYTES, blocksBytes), (int) blocks, (int) blockSize, (int) layers,
                    (int) floats, kvDtype);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot map the KV arena file " + file, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Whether blocks of {@code other} mean the same here: same block size, layers, slot width and element type. */
    public boolean sameLayout(PageArena other) {
        return blockSize == other.blockSize && numLayers == other.numLayers && floatsPerSlot == other.floatsPerSlot
                && dtype == other.dtype;
    }

    /** Copies block {@code fromBlock} of {@code from}, every layer, into block {@code toBlock} of this arena. */
    public void copyBlock(PageArena from, int fromBlock, int toBlock) {
        if (!sameLayout(from)) {
            throw new IllegalArgumentException("KV arenas differ in layout; blocks cannot be copied between them");
        }
        if (fromBlock < 0 || fromBlock >= from.numBlocks || toBlock < 0 || toBlock >= numBlocks) {
            throw new IndexOutOfBoundsException("block " + fromBlock + " of " + from.numBlocks + " to block " + toBlock + " of " + numBlocks);
        }
        MemorySegment.copy(from.memory, fromBlock * blockStrideBytes, memory, toBlock * blockStrideBytes, blockStrideBytes);
    }

    /**
     * Gives the pages of blocks {@code blocks[0 .. count)} (ascending) back to the system: their contents are
     * gone, and they take memory again only when next written. Runs of adjacent blocks go back in one call.
     * Returns the bytes given back.
     */
    public long releaseBlocks(int[] blocks, int count) {
        long released = 0;
        int i = 0;
        while (i < count) {
            int first = blocks[i];
            int last = first;
            while (i + 1 < count && blocks[i + 1] == last + 1) {
                last = blocks[++i];
            }
            i++;
            if (first < 0 || last >= numBlocks) {
                throw new IndexOutOfBoundsException("blocks " + first + ".." + last + " of " + numBlocks);
            }
            released += ReservedMemory.release(memory, first * blockStrideBytes, (last - first + 1) * blockStrideBytes, sharedFile);
        }
        return released;
    }

    /** Bytes of this arena resident in memory now. */
    public long residentBytes() {
        return ReservedMemory.residentBytes(memory);
    }

    /** Bytes of one block, every layer. */
    public long blockBytes() {
        return blockStrideBytes;
    }

    /** Bytes of KV memory one token takes across all layers, in floats. */
    public static long bytesPerToken(int numLayers, int floatsPerSlot) {
        return bytesPerToken(numLayers, floatsPerSlot, KvDtype.F32);
    }

    /** Bytes of KV memory one token takes across all layers, in elements of {@code dtype}. */
    public static long bytesPerToken(int numLayers, int floatsPerSlot, KvDtype dtype) {
        return (long) numLayers * floatsPerSlot * dtype.bytes();
    }

    public MemorySegment memory() {
        return memory;
    }

    /** Byte offset of {@code slot} (0..blockSize-1) of {@code block} in {@code layer}. */
    public long slotOffset(int block, int layer, int slot) {
        return block * blockStrideBytes + layer * layerStrideBytes + (long) slot * floatsPerSlot * dtype.bytes();
    }

    /** Copies floats into a slot of an {@link KvDtype#F32} arena. */
    public void writeSlot(int block, int layer, int slot, float[] src, int srcOffset, int count, int floatOffsetInSlot) {
        if (dtype != KvDtype.F32) {
            throw new IllegalStateException("writeSlot copies floats; this arena stores " + dtype);
        }
        MemorySegment.copy(src, srcOffset, memory, ValueLayout.JAVA_FLOAT,
                slotOffset(block, layer, slot) + (long) floatOffsetInSlot * Float.BYTES, count);
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    public int numLayers() {
        return numLayers;
    }

    public int floatsPerSlot() {
        return floatsPerSlot;
    }

    public KvDtype dtype() {
        return dtype;
    }

    public long byteSize() {
        return memory.byteSize();
    }

    @Override
    public void close() {
        arena.close();
    }
}
