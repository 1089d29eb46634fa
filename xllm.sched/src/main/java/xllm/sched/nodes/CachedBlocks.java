package xllm.sched.nodes;

import java.util.function.LongConsumer;

/** The prefix blocks a node caches now, by chained block hash and tier, as its registration publishes them. */
@FunctionalInterface
public interface CachedBlocks {
    /** Calls {@code action} once per block cached in memory; on the registration's thread. */
    void forEach(LongConsumer action);

    /** Calls {@code action} once per block in the disk tier (some may be in memory too); none by default. */
    default void forEachOnDisk(LongConsumer action) {
    }
}
