package xllm.sched.nodes;

import java.util.function.LongConsumer;
import org.agrona.collections.LongHashSet;
import xllm.kv.BlockAllocator;
import xllm.sched.cluster.KvIndexFeed;

/**
 * The prefix blocks one engine in this process caches: its engine thread reports changes into a ring
 * ({@link #listener()}), and the registration's thread drains them into a set before each publication; the
 * disk tier's blocks come from {@link #diskTier}.
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
    private volatile java.util.function.Consumer<LongConsumer> onDisk = action -> { };

    /** Where the disk tier's blocks come from: {@code source} calls its argument with each of them. */
    public void diskTier(java.util.function.Consumer<LongConsumer> source) {
        this.onDisk = source;
    }

    /** What the engine tells of its cache. */
    public BlockAllocator.CacheListener listener() {
        return feed;
    }

    @Override
    public void forEachOnDisk(LongConsumer action) {
        onDisk.accept(action);
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
