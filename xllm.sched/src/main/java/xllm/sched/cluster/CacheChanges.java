package xllm.sched.cluster;

/**
 * A worker's prefix-cache changes since its last heartbeat, oldest first: the block keys it stored
 * ({@code stored[i]}) or evicted. They travel with the heartbeat and the router applies them to the
 * {@link KvIndex}, its only writer.
 */
record CacheChanges(long[] keys, boolean[] stored) {
    static final CacheChanges NONE = new CacheChanges(new long[0], new boolean[0]);
    /** Changes one heartbeat carries at most; the rest wait in the worker's feed for the next one. */
    static final int MAX_PER_HEARTBEAT = 8192;

    CacheChanges {
        if (keys.length != stored.length) {
            throw new IllegalArgumentException(keys.length + " keys but " + stored.length + " kinds");
        }
    }

    int size() {
        return keys.length;
    }

    /** Gathers what a {@link KvIndexFeed} drains, for the next heartbeat. Used by the heartbeat thread alone. */
    static final class Collector implements KvIndexFeed.Target {
        private final long[] keys = new long[MAX_PER_HEARTBEAT];
        private final boolean[] stored = new boolean[MAX_PER_HEARTBEAT];
        private int size;

        @Override
        public void stored(long key) {
            add(key, true);
        }

        @Override
        public void evicted(long key) {
            add(key, false);
        }

        private void add(long key, boolean isStored) {
            if (size == MAX_PER_HEARTBEAT) {
                throw new IllegalStateException("drain at most " + MAX_PER_HEARTBEAT + " changes per heartbeat");
            }
            keys[size] = key;
            stored[size] = isStored;
            size++;
        }

        /** What was gathered since the last call, which it forgets. */
        CacheChanges take() {
            if (size == 0) {
                return NONE;
            }
            CacheChanges taken = new CacheChanges(java.util.Arrays.copyOf(keys, size), java.util.Arrays.copyOf(stored, size));
            size = 0;
            return taken;
        }
    }
}
