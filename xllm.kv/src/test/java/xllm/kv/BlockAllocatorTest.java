package xllm.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BlockAllocatorTest {
    private static final int BS = 4;

    @Test
    void sharedBlockIsFreedByItsLastHolderOnly() {
        BlockAllocator a = new BlockAllocator(2, BS);
        int b = a.allocate();
        a.retain(b);
        assertEquals(false, a.release(b));
        assertEquals(1, a.freeBlocks());
        assertEquals(true, a.release(b));
        assertEquals(2, a.freeBlocks());
        assertThrows(IllegalStateException.class, () -> a.release(b));
    }

    @Test
    void exhaustedAllocatorSaysSo() {
        BlockAllocator a = new BlockAllocator(1, BS);
        a.allocate();
        assertEquals(-1, a.allocate());
    }

    @Test
    void releasedPrefixBlockIsFoundAgainByItsTokens() {
        BlockAllocator a = new BlockAllocator(4, BS);
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8};
        long k0 = BlockHashes.chain(BlockHashes.ROOT, tokens, 0, BS);
        long k1 = BlockHashes.chain(k0, tokens, BS, BS);
        int b0 = a.allocate();
        int b1 = a.allocate();
        a.register(b0, k0, tokens, 0);
        a.register(b1, k1, tokens, BS);
        a.release(b0);
        a.release(b1);
        assertEquals(0.0, a.usage(), "cached free blocks count as free");
        assertEquals(b0, a.acquireCached(k0, tokens, 0));
        assertEquals(b1, a.acquireCached(k1, tokens, BS));
        assertEquals(2, a.freeBlocks());
        int[] other = {1, 2, 3, 9};
        assertEquals(-1, a.acquireCached(BlockHashes.chain(BlockHashes.ROOT, other, 0, BS), other, 0));
        assertNotEquals(k0, BlockHashes.chain(BlockHashes.ROOT, other, 0, BS));
    }

    @Test
    void cachedBlocksAreEvictedOldestFirstAndOnlyWhenNothingElseIsFree() {
        BlockAllocator a = new BlockAllocator(3, BS);
        int[] t = {1, 1, 1, 1, 2, 2, 2, 2};
        long ka = BlockHashes.chain(BlockHashes.ROOT, t, 0, BS);
        long kb = BlockHashes.chain(BlockHashes.ROOT, t, BS, BS);
        int first = a.allocate();
        int second = a.allocate();
        a.register(first, ka, t, 0);
        a.register(second, kb, t, BS);
        a.release(first);
        a.release(second);
        int fresh = a.allocate();
        assertNotEquals(first, fresh);
        assertNotEquals(second, fresh);
        assertEquals(first, a.allocate(), "the least recently released cached block goes first");
        assertEquals(-1, a.acquireCached(ka, t, 0), "evicted blocks are no longer found");
        assertEquals(second, a.acquireCached(kb, t, BS));
    }

    @Test
    void listenerFollowsStoredAndEvictedKeys() {
        BlockAllocator a = new BlockAllocator(1, BS);
        java.util.List<String> seen = new java.util.ArrayList<>();
        a.listener(new BlockAllocator.CacheListener() {
            @Override
            public void stored(long key) {
                seen.add("stored " + key);
            }

            @Override
            public void evicted(long key) {
                seen.add("evicted " + key);
            }
        });
        int[] t = {1, 2, 3, 4};
        long k = BlockHashes.chain(BlockHashes.ROOT, t, 0, BS);
        int b = a.allocate();
        a.register(b, k, t, 0);
        a.register(b, k, t, 0);
        a.release(b);
        a.allocate();
        assertEquals(java.util.List.of("stored " + k, "evicted " + k), seen);
    }

    @Test
    void truncatedTableKeepsItsLeadingBlocksAndFreesTheRest() {
        BlockAllocator a = new BlockAllocator(4, BS);
        BlockTable t = new BlockTable();
        assertEquals(true, t.ensureCapacity(4 * BS, BS, a));
        int first = t.blockAt(0);
        t.truncate(1, a);
        assertEquals(1, t.size());
        assertEquals(first, t.blockAt(0));
        assertEquals(3, a.freeBlocks());
        t.truncate(2, a); // keeping more than it holds changes nothing
        assertEquals(1, t.size());
        t.releaseAll(a);
        assertEquals(4, a.freeBlocks());
    }

    @Test
    void freeBlocksWrittenSinceTheLastReleaseAreReleasableOnceCachedOnesNever() {
        BlockAllocator a = new BlockAllocator(8, 2);
        int[] tokens = {1, 2, 3, 4};
        int cached = a.allocate();
        int used = a.allocate();
        int freed = a.allocate();
        a.register(cached, 42, tokens, 0);
        a.release(cached);
        a.release(freed);
        int[] into = new int[8];
        assertEquals(1, a.takeReleasable(into), "the cached block keeps its pages, the one in use too");
        assertEquals(freed, into[0]);
        assertEquals(0, a.takeReleasable(into), "given back once, until written again");
        a.release(used);
        assertEquals(1, a.takeReleasable(into));
        assertEquals(used, into[0]);
        assertEquals(cached, a.acquireCached(42, tokens, 0), "the cached block is still found");
    }

    @Test
    void evictingTheUnusedCacheFreesItsBlocksAndKeepsThoseInUse() {
        BlockAllocator a = new BlockAllocator(4, 2);
        java.util.List<Long> evicted = new java.util.ArrayList<>();
        a.listener(new BlockAllocator.CacheListener() {
            @Override
            public void stored(long key) {
            }

            @Override
            public void evicted(long key) {
                evicted.add(key);
            }
        });
        int[] tokens = {1, 2, 3, 4};
        int idle = a.allocate();
        int held = a.allocate();
        a.register(idle, 7, tokens, 0);
        a.register(held, 8, tokens, 2);
        a.release(idle);
        assertEquals(1, a.evictUnused());
        assertEquals(java.util.List.of(7L), evicted);
        assertEquals(-1, a.acquireCached(7, tokens, 0), "an evicted block is no longer found");
        int[] into = new int[4];
        assertEquals(1, a.takeReleasable(into), "its pages can be given back");
        assertEquals(idle, into[0]);
        a.release(held);
        assertEquals(held, a.acquireCached(8, tokens, 2), "a block in use kept its key");
        assertEquals(0, a.evictUnused(), "nor is it evicted while held");
        a.release(held);
        assertEquals(1, a.evictUnused(), "once unused it is");
    }
}
