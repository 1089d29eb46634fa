package xllm.kv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The KV memory of one engine instance: a single off-heap segment cut into blocks of {@code blockSize}
 * token slots for every layer. A slot holds {@code floatsPerSlot} elements of the arena's {@link KvDtype}: for
 * standard attention the key then the value of every KV head; latent-attention layers store their
 * compressed latent instead.
 *
 * <p>Layout: block, then layer, then slot, so that one block's tokens of one layer are contiguous and a
 * block can be copied or shared as one unit. Owned by the engine loop; compute threads read and write
 * disjoint slots during a step.
 */
public final class PageArena implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment memory;
    private final int numBlocks;
    private final int blockSize;
    private final int numLayers;
    private final int floatsPerSlot;
    private final KvDtype dtype;
    private final long layerStrideBytes;
    private final long blockStrideBytes;

    /** An arena of float elements. */
    public PageArena(int numBlocks, int blockSize, int numLayers, int floatsPerSlot) {
        this(numBlocks, blockSize, numLayers, floatsPerSlot, KvDtype.F32);
    }

    public PageArena(int numBlocks, int blockSize, int numLayers, int floatsPerSlot, KvDtype dtype) {
        if (numBlocks < 1 || blockSize < 1 || numLayers < 1 || floatsPerSlot < 1) {
            throw new IllegalArgumentException("KV arena dimensions must be positive: blocks=" + numBlocks
                    + " blockSize=" + blockSize + " layers=" + numLayers + " floatsPerSlot=" + floatsPerSlot);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.numLayers = numLayers;
        this.floatsPerSlot = floatsPerSlot;
        this.dtype = dtype;
        this.layerStrideBytes = (long) blockSize * floatsPerSlot * dtype.bytes();
        this.blockStrideBytes = layerStrideBytes * numLayers;
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(blockStrideBytes * numBlocks, 64);
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
