package xllm.kv;

import java.util.Arrays;
import org.agrona.collections.Long2LongHashMap;

/**
 * Hands out KV blocks by id and takes them back when their last holder releases them; reference counts
 * let sequences share blocks. With prefix caching, a full block may be registered under its
 * {@link BlockHashes} key: when released it keeps its contents, stays findable by key, and is evicted in
 * least-recently-used order only when no never-cached block is left.
 *
 * <p>Owned by the engine loop thread; not thread-safe. Allocates nothing after construction.
 */
public final class BlockAllocator {
    private static final int NONE = -1;
    private static final float KEY_LOAD_FACTOR = 0.65f;

    /**
     * Told when a prefix block becomes findable by its key and when it stops being so, so that a global
     * index can follow this instance's cache. Called on the engine loop thread in the middle of scheduling:
     * it must not block or allocate.
     */
    public interface CacheListener {
        void stored(long key);

        void evicted(long key);
    }

    private static final CacheListener SILENT = new CacheListener() {
        @Override
        public void stored(long key) {
        }

        @Override
        public void evicted(long key) {
        }
    };

    private CacheListener listener = SILENT;

    private final int blockSize;
    private final int[] refCounts;
    private final int[] freeStack;
    private int freeCount;

    /** Allocated since its pages were last given back ({@link #takeReleasable}); a page once written stays resident. */
    private final boolean[] written;
    private final long[] keys;
    private final int[] blockTokens;
    private final Long2LongHashMap blockOfKey;
    // evictable cached blocks (refcount 0, key set), oldest at head: an intrusive doubly linked list
    private final int[] lruPrev;
    private final int[] lruNext;
    private int lruHead = NONE;
    private int lruTail = NONE;
    private int lruCount;

    public BlockAllocator(int numBlocks, int blockSize) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("numBlocks and blockSize must be positive, got " + numBlocks + ", " + blockSize);
        }
        this.blockSize = blockSize;
        // sized for a key on every block, so registering never grows it on the engine thread
        this.blockOfKey = new Long2LongHashMap((int) Math.min(1 << 30, (long) (numBlocks / KEY_LOAD_FACTOR) + 1), KEY_LOAD_FACTOR, NONE);
        this.refCounts = new int[numBlocks];
        this.freeStack = new int[numBlocks];
        // pop order 0, 1, 2, ... keeps a fresh run's memory access sequential
        for (int i = 0; i < numBlocks; i++) {
            freeStack[i] = numBlocks - 1 - i;
        }
        this.freeCount = numBlocks;
        this.written = new boolean[numBlocks];
        this.keys = new long[numBlocks];
        this.blockTokens = new int[numBlocks * blockSize];
        this.lruPrev = new int[numBlocks];
        this.lruNext = new int[numBlocks];
    }

    /** A block with reference count 1, or -1 when none is left; evicts the oldest cached block if needed. */
    public int allocate() {
        int block;
        if (freeCount > 0) {
            block = freeStack[--freeCount];
        } else if (lruHead != NONE) {
            block = evictOldest();
        } else {
            return NONE;
        }
        refCounts[block] = 1;
        written[block] = true;
        return block;
    }

    /**
     * Puts into {@code into} (ascending) the free blocks written since their pages were last given back, and
     * counts them as given back; returns how many. Cached blocks keep their pages: they are the prefix cache.
     */
    public int takeReleasable(int[] into) {
        int n = 0;
        for (int i = 0; i < freeCount; i++) {
            int block = freeStack[i];
            if (written[block]) {
                written[block] = false;
                into[n++] = block;
            }
        }
        Arrays.sort(into, 0, n);
        return n;
    }

    /**
     * Evicts every cached block no sequence holds (the listener hears of each), making them free blocks whose
     * pages {@link #takeReleasable} can give back; returns how many. Blocks in use keep their keys.
     */
    public int evictUnused() {
        int n = 0;
        while (lruHead != NONE) {
            freeStack[freeCount++] = evictOldest();
            n++;
        }
        return n;
    }

    /** Takes the least recently released cached block out of the cache (the listener hears of it); returns it. */
    private int evictOldest() {
        int block = lruHead;
        unlink(block);
        blockOfKey.remove(keys[block]);
        listener.evicted(keys[block]);
        keys[block] = 0;
        return block;
    }

    /** One more holder of an allocated block. */
    public void retain(int block) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("retain of free block " + block);
        }
        refCounts[block]++;
    }

    /** Drops one holder; returns true when this was the last one. */
    public boolean release(int block) {
        int count = refCounts[block];
        if (count <= 0) {
            throw new IllegalStateException("double release of block " + block);
        }
        refCounts[block] = count - 1;
        if (count > 1) {
            return false;
        }
        if (keys[block] != 0) {
            append(block);
        } else {
            freeStack[freeCount++] = block;
        }
        return true;
    }

    /**
     * Registers a full block under {@code key}, its {@code blockSize} tokens being
     * {@code tokens[from ..]}. A key already held by another block is left as it is.
     */
    public void register(int block, long key, int[] tokens, int from) {
        if (keys[block] != 0 || blockOfKey.containsKey(key)) {
            return;
        }
        keys[block] = key;
        blockOfKey.put(key, block);
        System.arraycopy(tokens, from, blockTokens, block * blockSize, blockSize);
        listener.stored(key);
    }

    /** Follows the prefix cache from now on; set before the engine loop starts. */
    public void listener(CacheListener value) {
        this.listener = value == null ? SILENT : value;
    }

    /**
     * The cached block under {@code key} holding exactly {@code tokens[from .. from+blockSize)}, retained
     * for the caller; -1 on a miss.
     */
    public int acquireCached(long key, int[] tokens, int from) {
        long found = blockOfKey.get(key);
        if (found == NONE) {
            return NONE;
        }
        int block = (int) found;
        if (!Arrays.equals(blockTokens, block * blockSize, (block + 1) * blockSize, tokens, from, from + blockSize)) {
            return NONE;
        }
        if (refCounts[block] == 0) {
            unlink(block);
        }
        refCounts[block]++;
        return block;
    }

    /** Blocks that {@link #allocate} can hand out: never-cached plus evictable cached ones. */
    public int freeBlocks() {
        return freeCount + lruCount;
    }

    public int totalBlocks() {
        return refCounts.length;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Fraction of blocks held by live sequences, 0 to 1 (cached free blocks count as free). */
    public double usage() {
        return 1.0 - (double) freeBlocks() / refCounts.length;
    }

    private void append(int block) {
        lruPrev[block] = lruTail;
        lruNext[block] = NONE;
        if (lruTail != NONE) {
            lruNext[lruTail] = block;
        } else {
            lruHead = block;
        }
        lruTail = block;
        lruCount++;
    }

    private void unlink(int block) {
        int prev = lruPrev[block];
        int next = lruNext[block];
        if (prev != NONE) {
            lruNext[prev] = next;
        } else {
            lruHead = next;
        }
        if (next != NONE) {
            lruPrev[next] = prev;
        } else {
            lruTail = prev;
        }
        lruCount--;
    }

    @Override
    public String toString() {
        return "BlockAllocator[free=" + freeCount + ", cachedFree=" + lruCount + ", total=" + refCounts.length + "]";
    }
}
