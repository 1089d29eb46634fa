package xllm.sched.cluster;

import java.nio.file.Path;
import java.util.function.Consumer;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import xllm.kv.files.PrivateFiles;

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

    /** Opens the queue in {@code dir}, made private first; Chronicle's own files there follow the process's umask. */
    static SharedQueue open(Path dir) {
        PrivateFiles.directory(dir);
        return new SharedQueue(ChronicleQueue.singleBuilder(dir).blockSize(BLOCK_SIZE).rollCycle(RollCycles.FAST_DAILY).build());
    }

    /** A document to fill through {@code wire().bytes()}; closing it publishes it. */
    DocumentContext writing() {
        return appenders.get().writingDocument();
    }

    /** A reader from the queue's start; it must stay on the thread that made it. */
    ExcerptTailer tailer() {
        return queue.createTailer();
    }

    /** Hands the next document of {@code tailer} to {@code reader}; false when there is none yet. */
    static boolean readNext(ExcerptTailer tailer, Consumer<Bytes<?>> reader) {
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) {
                return false;
            }
            reader.accept(dc.wire().bytes());
            return true;
        }
    }

    /**
     * How a reader waits for the next document: Chronicle Queue cannot wake a reader in another process, so readers
     * poll, at once while documents come, then parked from 50 us up to 500 us, doubling, while none does. A decoding
     * worker writes once a step (milliseconds apart), so a reader wakes a handful of times a step instead of every
     * 100 us, on cores the engines need. One per reading thread (it keeps the backoff's state).
     */
    static IdleStrategy pollingIdle() {
        return new BackoffIdleStrategy(0, 0, 50_000, 500_000);
    }

    @Override
    public void close() {
        queue.close();
    }
}
