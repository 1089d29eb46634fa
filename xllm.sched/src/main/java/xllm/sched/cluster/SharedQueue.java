package xllm.sched.cluster;

import java.nio.file.Path;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * One Chronicle queue in the shared-memory directory: documents of raw bytes, written by any thread of any
 * process (each thread gets its own appender; Chronicle serialises writers) and read through tailers.
 */
final class SharedQueue implements AutoCloseable {
    private static final int BLOCK_SIZE = 1 << 20;

    private final ChronicleQueue queue;
    private final ThreadLocal<ExcerptAppender> appenders;

    private SharedQueue(ChronicleQueue queue) {
        this.queue = queue;
        this.appenders = ThreadLocal.withInitial(queue::createAppender);
    }

    static SharedQueue open(Path dir) {
        return new SharedQueue(ChronicleQueue.singleBuilder(dir).blockSize(BLOCK_SIZE).rollCycle(RollCycles.FAST_DAILY).build());
    }

    /** A document to fill through {@code wire().bytes()}; closing it publishes it. */
    DocumentContext writing() {
        return appenders.get().writingDocument();
    }

    ExcerptTailer tailer() {
        return queue.createTailer();
    }

    @Override
    public void close() {
        queue.close();
    }
}
