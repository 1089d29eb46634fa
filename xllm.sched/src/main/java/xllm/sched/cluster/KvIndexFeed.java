package xllm.sched.cluster;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import xllm.kv.BlockAllocator;

/**
 * Carries a worker's prefix-cache changes from its engine thread to the {@link KvIndex}. The engine side
 * only copies a key into a preallocated ring (no allocation, no lock, no I/O); the heartbeat thread drains
 * the ring into the shared map. A full ring drops changes: the index is a routing hint, and a stale entry
 * costs at most a cache miss.
 */
final class KvIndexFeed implements BlockAllocator.CacheListener {
    private static final int STORED = 1;
    private static final int EVICTED = 2;

    private final OneToOneRingBuffer ring = new OneToOneRingBuffer(
            new UnsafeBuffer(ByteBuffer.allocateDirect((1 << 18) + RingBufferDescriptor.TRAILER_LENGTH)));
    private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[Long.BYTES]);
    private final int worker;
    private final KvIndex index;

    KvIndexFeed(int worker, KvIndex index) {
        this.worker = worker;
        this.index = index;
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
    void drain() {
        ring.read((type, buffer, offset, length) -> {
            long key = buffer.getLong(offset);
            if (type == STORED) {
                index.stored(worker, key);
            } else {
                index.evicted(worker, key);
            }
        });
    }
}
