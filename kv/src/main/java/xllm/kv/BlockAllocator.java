package xllm.kv;

import java.util.Arrays;

/**
 * Hands out KV blocks by id and takes them back when their last holder releases them. Reference counts
 * let several sequences share one block (a common prefix). Owned by the engine loop thread; not
 * thread-safe.
 */
public final class BlockAllocator {
    private final int[] refCounts;
    private final int[] freeStack;
    private int freeCount;

    public BlockAllocator(int numBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("numBlocks must be positive, got " + numBlocks);
        }
        this.refCounts = new int[numBlocks];
        this.freeStack = new int[numBlocks];
        // Pop order 0, 1, 2, ... keeps a fresh run's memory access sequential.
        for (int i = 0; i < numBlocks; i++) {
            freeStack[i] = numBlocks - 1 - i;
        }
        this.freeCount = numBlocks;
    }

    /** A free block with reference count 1, or -1 when none is left. */
    public int allocate() {
        if (freeCount == 0) {
            return -1;
        }
        int block = freeStack[--freeCount];
        refCounts[block] = 1;
        return block;
    }

    /** One more holder of an allocated block. */
    public void retain(int block) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("retain of free block " + block);
        }
        refCounts[block]++;
    }

    /** Drops one holder; returns true when this was the last one and the block is free again. */
    public boolean release(int block) {
        int count = refCounts[block];
        if (count <= 0) {
            throw new IllegalStateException("double release of block " + block);
        }
        refCounts[block] = count - 1;
        if (count == 1) {
            freeStack[freeCount++] = block;
            return true;
        }
        return false;
    }

    public int refCount(int block) {
        return refCounts[block];
    }

    public int freeBlocks() {
        return freeCount;
    }

    public int totalBlocks() {
        return refCounts.length;
    }

    /** Fraction of blocks in use, 0 to 1. */
    public double usage() {
        return 1.0 - (double) freeCount / refCounts.length;
    }

    @Override
    public String toString() {
        return "BlockAllocator[free=" + freeCount + "/" + refCounts.length + ", inUse="
                + Arrays.stream(refCounts).filter(c -> c > 0).count() + "]";
    }
}
