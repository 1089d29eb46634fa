package xllm.sched.nodes;

import java.util.function.LongConsumer;
import org.agrona.collections.LongHashSet;
import xllm.kv.BlockAllocator;
import xllm.sched.cluster.KvIndexFeed;

/**
 * The prefix blocks one engine in this process caches: its engine thread reports changes into a ring
 * ({@link #listener()}), and the registration's thread drains them into a set before each publication.
 */
public final class EngineCachedBlocks implements CachedBlocks {
    /** Touched only by the draining thread. */
    private final LongHashSet blocks = new LongHashSet();
    private final KvIndexFeed feed = new KvIndexFeed(new KvIndexFeed.Target() {
        @Override
        public void stored(long key) {
            blocks.add(key);
        }

        @Override
        public void evicted(long key) {
            blocks.remove(key);
        }
    });

    /** What the engine tells of its cache. */
    public BlockAllocator.CacheListener listener() {
        return feed;
    }

    @Override
    public void forEach(LongConsumer action) {
        feed.drain();
        LongHashSet.LongIterator it = blocks.iterator();
        while (it.hasNext()) {
            action.accept(it.nextValue());
        }
    }
}
