package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.Usage;
import xllm.sched.SpecDecodeCounts;
import xllm.sched.StepTimes;

/**
 * A worker's prefix-cache changes reach the router's KV index through its heartbeats, over a real queue and a
 * real index file: in the order the engine made them, and none lost when more pile up than one heartbeat carries.
 */
class CacheChangesTest {
    private static final int WORKER = 3;
    private static final long BIT = 1L << WORKER;

    @TempDir
    Path dir;

    @Test
    void changesReachTheIndexInTheOrderTheEngineMadeThem() {
        CacheChanges.Collector collector = new CacheChanges.Collector();
        KvIndexFeed feed = new KvIndexFeed(collector);
        try (SharedQueue events = SharedQueue.open(dir.resolve("events")); KvIndex index = KvIndex.open(dir.resolve("kv-index"))) {
            index.stored(0, 40); // another worker's block, which this one also stores and then evicts
            feed.stored(10);
            feed.stored(20);
            feed.evicted(10); // stored, then evicted: gone
            feed.evicted(30);
            feed.stored(30); // evicted, then stored again: held
            feed.stored(40);
            feed.evicted(40);
            List<Heartbeat> beats = sendAndReceive(events, feed, collector, 1);
            index.apply(WORKER, beats.getFirst().cache());

            assertEquals(0, index.owners(10));
            assertEquals(BIT, index.owners(20));
            assertEquals(BIT, index.owners(30));
            assertEquals(1, index.owners(40), "the other worker still holds it");
        }
    }

    @Test
    void whatOneHeartbeatCannotCarryGoesWithTheNext() {
        CacheChanges.Collector collector = new CacheChanges.Collector();
        KvIndexFeed feed = new KvIndexFeed(collector);
        int blocks = CacheChanges.MAX_PER_HEARTBEAT + 1000;
        try (SharedQueue events = SharedQueue.open(dir.resolve("events")); KvIndex index = KvIndex.open(dir.resolve("kv-index"))) {
            for (int k = 1; k <= blocks; k++) {
                feed.stored(k);
            }
            List<Heartbeat> beats = sendAndReceive(events, feed, collector, 2);
            assertEquals(CacheChanges.MAX_PER_HEARTBEAT, beats.get(0).cache().size());
            assertEquals(1000, beats.get(1).cache().size());
            beats.forEach(b -> index.apply(WORKER, b.cache()));
            int held = 0;
            for (int k = 1; k <= blocks; k++) {
                held += index.owners(k) == BIT ? 1 : 0;
            }
            assertEquals(blocks, held);
        }
    }

    /** Writes {@code count} heartbeats as a worker's heartbeat thread does, and reads them as the router does. */
    private static List<Heartbeat> sendAndReceive(SharedQueue events, KvIndexFeed feed, CacheChanges.Collector collector, int count) {
        for (int i = 0; i < count; i++) {
            feed.drain(CacheChanges.MAX_PER_HEARTBEAT);
            MessageCodec.writeHeartbeat(events, new Heartbeat(1234, 0, 0, 0, 0, SpecDecodeCounts.NONE, StepTimes.Taken.NONE, collector.take()));
        }
        List<Heartbeat> received = new ArrayList<>();
        ExcerptTailer tailer = events.tailer();
        Logprobs logprobs = new Logprobs();
        MessageCodec.WorkerMessages router = new MessageCodec.WorkerMessages() {
            @Override
            public void token(long key, int position, int token, Logprobs l) {
            }

            @Override
            public void finished(long key, FinishReason reason, Usage usage) {
            }

            @Override
            public void heartbeat(Heartbeat heartbeat) {
                received.add(heartbeat);
            }

            @Override
            public void handedOff(long key, KvSource source) {
            }

            @Override
            public void kvReceived(long key, int sourceWorker, long sourcePid, String requestId, long bytes, long nanos) {
            }
        };
        while (SharedQueue.readNext(tailer, in -> MessageCodec.readWorkerMessage(in, logprobs, router))) {
            // reads every heartbeat written
        }
        assertEquals(count, received.size());
        return received;
    }
}
