package xllm.kv;

import java.util.Arrays;

/**
 * The physical KV blocks of one sequence, in logical order: token {@code i} lives in block
 * {@code blockAt(i / blockSize)}, slot {@code i % blockSize}. Owned by the engine loop thread.
 */
public final class BlockTable {
    private int[] blocks = new int[8];
    private int size;

    public int blockAt(int logicalIndex) {
        if (logicalIndex >= size) {
            throw new IndexOutOfBoundsException("logical block " + logicalIndex + " of " + size);
        }
        return blocks[logicalIndex];
    }

    /**
     * The backing array, its first {@link #size()} entries the block ids in logical order: for kernels that
     * walk the table without a call per block. Read-only for callers; replaced when the table grows.
     */
    public int[] blockIds() {
        return blocks;
    }

    public void append(int block) {
        if (size == blocks.length) {
            blocks = Arrays.copyOf(blocks, size * 2);
        }
        blocks[size++] = block;
    }

    public int size() {
        return size;
    }

    /**
     * Allocates blocks until {@code tokens} tokens fit. Returns false, leaving the table unchanged,
     * when the allocator runs out.
     */
    public boolean ensureCapacity(int tokens, int blockSize, BlockAllocator allocator) {
        int needed = (tokens + blockSize - 1) / blockSize - size;
        if (needed <= 0) {
            return true;
        }
        if (allocator.freeBlocks() < needed) {
            return false;
        }
        for (int i = 0; i < needed; i++) {
            append(allocator.allocate());
        }
        return true;
    }

    /** Empties the table without releasing its blocks: another table has taken them over. */
    public void forget() {
        size = 0;
    }

    /** Releases every block to the allocator and empties the table. */
    public void releaseAll(BlockAllocator allocator) {
        truncate(0, allocator);
    }

    /** Keeps the first {@code keep} blocks and releases the rest to the allocator, last first. */
    public void truncate(int keep, BlockAllocator allocator) {
        for (int i = size - 1; i >= keep; i--) {
            allocator.release(blocks[i]);
        }
        size = Math.min(size, Math.max(keep, 0));
    }
}
