package xllm.sched.nodes;

import java.util.function.LongConsumer;

/** The prefix blocks a node caches now, by chained block hash, as its registration publishes them. */
@FunctionalInterface
public interface CachedBlocks {
    /** Calls {@code action} once per cached block; on the registration's thread. */
    void forEach(LongConsumer action);
}
