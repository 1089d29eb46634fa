package xllm.engine.scheduler;

import xllm.kv.BlockAllocator;
import xllm.kv.BlockHashes;
import xllm.kv.DiskBlockStore;
import xllm.kv.PageArena;

/**
 * The KV blocks of one engine instance's sequences, as the scheduler hands them out: reserving blocks for
 * the tokens a step computes, reusing cached prompt prefixes, registering newly full blocks under their
 * hash chain (over computed tokens only), and releasing a sequence's blocks. The runner's arena holds the
 * pages these block ids name. Owned by the engine loop thread.
 */
final class KvMemory {
    private final BlockAllocator allocator;
    private final int blockSize;
    private final boolean prefixCaching;
    /** The disk tier and the arena its blocks load into; null without one. */
    private DiskBlockStore disk;
    private PageArena arena;
    /** Prompt tokens found cached, by tier; written by the engine thread, read by metrics. */
    private volatile long memoryHitTokens;
    private volatile long diskHitTokens;
    /** Block ids of one idle release; sized once so that releasing allocates nothing. */
    private final int[] releasable;

    KvMemory(int numBlocks, int blockSize, boolean prefixCaching, BlockAllocator.CacheListener listener) {
        this.allocator = new BlockAllocator(numBlocks, blockSize);
        this.allocator.listener(listener);
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
        this.releasable = new int[numBlocks];
    }

    /** Looks prompts' prefixes up on {@code store} after memory, and writes newly cached blocks there. */
    void offloadTo(DiskBlockStore store, PageArena blocks) {
        this.disk = store;
        this.arena = blocks;
    }

    long memoryHitTokens() {
        return memoryHitTokens;
    }

    long diskHitTokens() {
        return diskHitTokens;
    }

    /** Free blocks written since their pages were last given back, ascending, in {@link #releasable()}; returns how many. */
    /** Drops the prefix cache's unused blocks (see {@link BlockAllocator#evictUnused}). */
    int evictUnused() {
        return allocator.evictUnused();
    }

    int takeReleasable() {
        return allocator.takeReleasable(releasable);
    }

    int[] releasable() {
        return releasable;
    }

    /** Blocks for {@code seq}'s first {@code tokens} tokens; false, taking nothing, when too few are free. */
    boolean reserve(Sequence seq, int tokens) {
        return seq.table.ensureCapacity(tokens, blockSize, allocator);
    }

    /**
     * Gives a sequence that holds no blocks the cached blocks of its longest cached prefix, leaving at least one
     * token to compute (which produces its logits); returns the tokens found.
     */
    int reuseCachedPrefix(Sequence seq) {
        if (!prefixCaching) {
            return 0;
        }
        int fullBlocks = (seq.length - 1) / blockSize;
        long key = BlockHashes.ROOT;
        int inMemory = 0;
        int fromDisk = 0;
        for (int i = 0; i < fullBlocks; i++) {
            long next = BlockHashes.chain(key, seq.tokens, i * blockSize, blockSize);
            int block = allocator.acquireCached(next, seq.tokens, i * blockSize);
            if (block >= 0) {
                inMemory++;
            } else if (disk != null && (block = loadFromDisk(next, key, seq.tokens, i * blockSize)) >= 0) {
                fromDisk++;
            } else {
                break;
            }
            seq.table.append(block);
            key = next;
            seq.keyedBlocks = i + 1;
            seq.lastKey = key;
        }
        memoryHitTokens += (long) inMemory * blockSize;
        diskHitTokens += (long) fromDisk * blockSize;
        return (inMemory + fromDisk) * blockSize;
    }

    /** A new block holding the disk tier's copy of the block cached under {@code key}, now cached in memory too; -1 when none loads. */
    private int loadFromDisk(long key, long parentKey, int[] tokens, int from) {
        int block = allocator.allocate();
        if (block < 0) {
            return -1;
        }
        if (!disk.load(key, parentKey, tokens, from, arena, block)) {
            allocator.release(block);
            return -1;
        }
        allocator.register(block, key, tokens, from);
        return block;
    }

    /**
     * Gives a sequence that holds no blocks the KV of its first {@code from.tokens()} tokens: its own cached
     * prefix where it has one, and copies of the source's blocks for the rest. Returns the bytes copied, or -1,
     * leaving the sequence without blocks, when the source cannot be used (none mapped, foreign layout, a token count that
     * does not fit the sequence or the blocks named, too few free blocks here).
     */
    long importPrompt(Sequence seq, KvImport from, PageArena target) {
        int tokens = from.tokens();
        int needed = (tokens + blockSize - 1) / blockSize;
        if (from.source() == null || !from.source().sameLayout(target) || tokens < 1 || tokens >= seq.length
                || from.blocks().length < needed) {
            return -1;
        }
        int cached = reuseCachedPrefix(seq);
        if (cached >= tokens) {
            // everything the source offers is cached here already (perhaps more): nothing to copy
            seq.computed = cached;
            seq.prefixLookedUp = true;
            seq.cachedPromptTokens = Math.min(cached, seq.promptLength);
            return 0;
        }
        if (allocator.freeBlocks() < needed - seq.table.size()) {
            release(seq);
            return -1;
        }
        long bytes = 0;
        try {
            for (int i = seq.table.size(); i < needed; i++) {
                int block = allocator.allocate();
                seq.table.append(block);
                target.copyBlock(from.source(), from.blocks()[i], block);
                bytes += target.blockBytes();
            }
        } catch (IndexOutOfBoundsException | IllegalStateException e) {
            // a block id outside the source, or a source unmapped meanwhile: recompute instead
            release(seq);
            return -1;
        }
        seq.computed = tokens;
        seq.prefixLookedUp = true;
        seq.cachedPromptTokens = Math.min(cached, seq.promptLength);
        registerFullBlocks(seq);
        return bytes;
    }

    /** Moves {@code from}'s blocks and the KV they hold to {@code to}, which holds none; {@code from} is left empty. */
    void transfer(Sequence from, Sequence to) {
        for (int i = 0; i < from.table.size(); i++) {
            to.table.append(from.table.blockAt(i));
        }
        from.table.forget();
        to.computed = Math.min(from.computed, to.length - 1);
        to.keyedBlocks = from.keyedBlocks;
        to.lastKey = from.lastKey;
        to.prefixLookedUp = from.prefixLookedUp;
        to.cachedPromptTokens = from.cachedPromptTokens;
        from.keyedBlocks = 0;
        from.lastKey = BlockHashes.ROOT;
        from.computed = 0;
    }

    /** Registers the blocks that {@code seq}'s computed tokens have filled since the last call. */
    void registerFullBlocks(Sequence seq) {
        if (!prefixCaching) {
            return;
        }
        int full = seq.computed / blockSize;
        for (int i = seq.keyedBlocks; i < full; i++) {
            long key = BlockHashes.chain(seq.lastKey, seq.tokens, i * blockSize, blockSize);
            allocator.register(seq.table.blockAt(i), key, seq.tokens, i * blockSize);
            if (disk != null) {
                disk.offer(key, seq.lastKey, seq.tokens, i * blockSize, arena, seq.table.blockAt(i));
            }
            seq.lastKey = key;
            seq.keyedBlocks = i + 1;
        }
    }

    /** Gives back the blocks of {@code seq} past those its first {@code tokens} tokens need. */
    void trim(Sequence seq, int tokens) {
        seq.table.truncate((tokens + blockSize - 1) / blockSize, allocator);
    }

    /** Gives every block of {@code seq} back; its KV is gone (cached full blocks stay findable by others). */
    void release(Sequence seq) {
        seq.table.releaseAll(allocator);
        seq.keyedBlocks = 0;
        seq.lastKey = BlockHashes.ROOT;
        seq.computed = 0;
    }

    boolean prefixCaching() {
        return prefixCaching;
    }

    int blockSize() {
        return blockSize;
    }

    int totalBlocks() {
        return allocator.totalBlocks();
    }

    int freeBlocks() {
        return allocator.freeBlocks();
    }

    double usage() {
        return allocator.usage();
    }
}
