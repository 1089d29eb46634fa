package xllm.sched.cluster;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import xllm.kv.BlockAllocator;

/**
 * Carries an engine's prefix-cache changes from its engine thread to an index: a worker's next heartbeat
 * (for the router's {@link KvIndex}), or the set a node publishes to etcd. The engine side only copies a key
 * into a preallocated ring (no allocation, no lock, no I/O); another thread drains the ring into the index. A
 * full ring drops changes: the index is a routing hint, and a stale entry costs at most a cache miss.
 */
public final class KvIndexFeed implements BlockAllocator.CacheListener {
    /** Where drained changes go; called on the draining thread. */
    public interface Target {
        void stored(long key);

        void evicted(long key);
    }

    private static final int STORED = 1;
    private static final int EVICTED = 2;

    private final OneToOneRingBuffer ring = new OneToOneRingBuffer(
            new UnsafeBuffer(ByteBuffer.allocateDirect((1 << 18) + RingBufferDescriptor.TRAILER_LENGTH)));
    private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[Long.BYTES]);
    private final Target target;

    public KvIndexFeed(Target target) {
        this.target = target;
    }

    @Override
    public void stored(long key) {
        scratch.putLong(0, key);
        ring.write(STORED, scratch, 0, Long.BYTES);
    }

    @Override
    public void evicted(long key) {
        scratch.putLong(0, key);
        ring.write(EVICTED, scratch, 0, Long.BYTES);
    }

    /** Applies the changes queued so far; called by one thread, not the engine's. */
    public void drain() {
        drain(Integer.MAX_VALUE);
    }

    /** Applies at most {@code limit} of the changes queued so far, oldest first; called by one thread, not the engine's. */
    public void drain(int limit) {
        ring.read((type, buffer, offset, length) -> {
            long key = buffer.getLong(offset);
            if (type == STORED) {
                target.stored(key);
            } else {
                target.evicted(key);
            }
        }, limit);
    }
}
