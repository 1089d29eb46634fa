package xllm.sched.cluster;

import java.nio.file.Path;
import java.util.function.Consumer;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import xllm.kv.files.Doorbell;
import xllm.kv.files.PrivateFiles;

/**
 * One Chronicle queue in the shared-memory directory: documents of raw bytes, written by any thread of any
 * process (each thread gets its own appender; Chronicle serialises writers) and read through tailers. Chronicle
 * cannot wake a reader in another process, so the queue has a {@link Doorbell} beside it: a writer rings it after
 * each document, and a reader with nothing to read sleeps on it ({@link #readOrAwait}) instead of polling.
 */
final class SharedQueue implements AutoCloseable {
    private static final int BLOCK_SIZE = 1 << 20;
    /** How long a reader sleeps at most without a ring, so that its loop sees in time that it should stop. */
    private static final long MAX_WAIT_NANOS = 10_000_000;

    private final ChronicleQueue queue;
    private final Doorbell bell;
    private final ThreadLocal<Writing> writings;

    private SharedQueue(ChronicleQueue queue, Doorbell bell) {
        this.queue = queue;
        this.bell = bell;
        this.writings = ThreadLocal.withInitial(() -> new Writing(queue.createAppender(), bell));
    }

    /** Opens the queue in {@code dir}, made private first; Chronicle's own files there follow the process's umask. */
    static SharedQueue open(Path dir) {
        PrivateFiles.directory(dir);
        Doorbell bell = Doorbell.open(dir.resolve("doorbell"));
        return new SharedQueue(ChronicleQueue.singleBuilder(dir).blockSize(BLOCK_SIZE).rollCycle(RollCycles.FAST_DAILY).build(), bell);
    }

    /** A document to fill through {@link Writing#bytes}; closing it publishes it and rings the doorbell. */
    Writing writing() {
        return writings.get().begin();
    }

    /** The document a thread is writing: one object per thread, reused, so that writing allocates nothing. */
    static final class Writing implements AutoCloseable {
        private final ExcerptAppender appender;
        private final Doorbell bell;
        private DocumentContext document;

        private Writing(ExcerptAppender appender, Doorbell bell) {
            this.appender = appender;
            this.bell = bell;
        }

        private Writing begin() {
            document = appender.writingDocument();
            return this;
        }

        Bytes<?> bytes() {
            return document.wire().bytes();
        }

        @Override
        public void close() {
            try {
                document.close();
            } finally {
                document = null;
            }
            bell.ring();
        }
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
     * Hands every document {@code tailer} has now to {@code reader}; when there was none, sleeps until a writer
     * rings or 10 ms pass. A reader's loop calls this over and over: it wakes when documents come,
     * not on a timer on cores the engines need (polling from 50 to 500 us took 10% of a core per reader at eight
     * streams on two cores). Only the thread that made the tailer may call it.
     */
    void readOrAwait(ExcerptTailer tailer, Consumer<Bytes<?>> reader) {
        int ticket = bell.ticket();
        boolean read = false;
        while (readNext(tailer, reader)) {
            read = true;
        }
        if (!read) {
            bell.await(ticket, MAX_WAIT_NANOS);
        }
    }

    @Override
    public void close() {
        queue.close();
        bell.close();
    }
}
