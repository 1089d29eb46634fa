package xllm.sched.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import net.openhft.chronicle.map.ChronicleMap;

/**
 * The global prefix-cache index: a Chronicle map in shared memory from a block's hash-chain key to the
 * workers that hold it cached (a bit per worker, low 16 bits) and when one last stored it (milliseconds,
 * the high 48 bits). The router reads it to route a prompt to the longest cached prefix.
 *
 * <p>Only the router opens it. Chronicle locks a key's segment with a word in the mapped file, which no one
 * releases for a process killed inside an update: every other process touching that segment would then wait
 * for good. So workers send their changes with their heartbeats ({@link CacheChanges}) and the router applies
 * them; a router that dies takes its workers with it, and its successor starts a fresh file. Thread-safe.
 */
final class KvIndex implements AutoCloseable {
    static final int MAX_WORKERS = 16;
    private static final long MASK = (1L << MAX_WORKERS) - 1;
    private static final long ENTRIES = 1L << 19;

    private final ChronicleMap<Long, Long> map;

    private KvIndex(ChronicleMap<Long, Long> map) {
        this.map = map;
    }

    /** Opens the index file, creating it when absent. */
    static KvIndex open(Path file) {
        try {
            return new KvIndex(ChronicleMap.of(Long.class, Long.class).name("xllm-kv-index").entries(ENTRIES)
                    .createPersistedTo(file.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the KV index " + file, e);
        }
    }

    void stored(int worker, long key) {
        long bit = 1L << worker;
        long now = System.currentTimeMillis() << MAX_WORKERS;
        map.compute(key, (k, v) -> now | (v == null ? 0 : v & MASK) | bit);
    }

    void evicted(int worker, long key) {
        long bit = 1L << worker;
        map.computeIfPresent(key, (k, v) -> {
            long owners = v & MASK & ~bit;
            return owners == 0 ? null : (v & ~MASK) | owners;
        });
    }

    /** Applies a worker's changes in their order. */
    void apply(int worker, CacheChanges changes) {
        for (int i = 0; i < changes.size(); i++) {
            if (changes.stored()[i]) {
                stored(worker, changes.keys()[i]);
            } else {
                evicted(worker, changes.keys()[i]);
            }
        }
    }

    /** The workers that cache the block under {@code key}, one bit each. */
    long owners(long key) {
        Long v = map.get(key);
        return v == null ? 0 : v & MASK;
    }

    /**
     * Per worker, how many leading full blocks of {@code prompt} it caches; the last prompt token is
     * never counted, as it must be computed to sample the first output token.
     */
    int[] matchedBlocks(int[] prompt, int blockSize, int workers) {
        return PrefixMatch.matchedBlocks(prompt, blockSize, workers, this::owners);
    }

    /** Calls {@code action} with the key of every block some worker caches. */
    void forEachCached(java.util.function.LongConsumer action) {
        map.forEach((key, value) -> {
            if ((value & MASK) != 0) {
                action.accept(key);
            }
        });
    }

    /** Drops a dead worker from every entry: its cache died with it. */
    void forget(int worker) {
        for (Long key : map.keySet()) {
            evicted(worker, key);
        }
    }

    @Override
    public void close() {
        map.close();
    }
}
