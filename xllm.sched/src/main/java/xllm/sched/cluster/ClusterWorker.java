package xllm.sched.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import xllm.api.FinishReason;
import xllm.api.ServiceException;
import xllm.api.Usage;
import xllm.engine.scheduler.KvImport;
import xllm.kv.PageArena;
import xllm.kv.files.PrivateFiles;
import xllm.sched.EngineService;

/**
 * One worker process: an engine instance fed from its request queue, answering on its event queue, and
 * telling the router with each heartbeat what its prefix cache gained and lost. A worker never touches the
 * {@link KvIndex} itself: see there why. It reads only requests written after it started (a
 * restarted worker must not redo its predecessor's work: the router resumes that elsewhere), sends a
 * heartbeat every {@value #HEARTBEAT_MILLIS} ms, and exits when the router is gone. {@link #run} blocks
 * on the calling thread, which reads the request queue.
 */
public final class ClusterWorker {
    static final long HEARTBEAT_MILLIS = 100;

    /**
     * @param id the worker's index, 0 to {@link KvIndex#MAX_WORKERS} - 1
     * @param dir the shared-memory directory of the deployment
     * @param routerPid the router's process id; the worker ends with it
     */
    public record Options(int id, Path dir, long routerPid, EngineService.Options engine) {
    }

    private ClusterWorker() {
    }

    public static void run(Options options) {
        // the router made it; a worker still checks that it is private before it writes there
        ShmLayout layout = new ShmLayout(PrivateFiles.directory(options.dir()));
        try (SharedQueue requests = SharedQueue.open(layout.requests(options.id()));
             SharedQueue events = SharedQueue.open(layout.events(options.id()))) {
            ExcerptTailer tailer = requests.tailer().toEnd();
            CacheChanges.Collector cacheChanges = new CacheChanges.Collector();
            KvIndexFeed feed = new KvIndexFeed(cacheChanges);
            long pid = ProcessHandle.current().pid();
            layout.removeKvPages(options.id());
            Path kvPages = sharedArenaFits(layout, options.engine().kvCacheBytes()) ? layout.kvPages(options.id(), pid) : null;
            try (EngineService engine = EngineService.load(options.engine().withKvPagesFile(kvPages), feed);
                 PeerArenas peers = new PeerArenas(layout)) {
                Thread heartbeat = Thread.ofPlatform().name("xllm-worker-heartbeat").daemon()
                        .start(() -> heartbeats(options.routerPid(), engine, events, feed, cacheChanges));
                EngineFeed toEngine = new EngineFeed(options.id(), pid, engine, events, peers);
                Consumer<Bytes<?>> reader = in -> MessageCodec.readRouterMessage(in, toEngine);
                while (heartbeat.isAlive()) {
                    requests.readOrAwait(tailer, reader);
                }
            } finally {
                layout.removeKvPages(options.id());
            }
        }
    }

    /**
     * Hands the router's requests to the engine; a refused one ends at once, for the router to see. Runs on
     * the request reader; the handoff and import callbacks run on the engine thread.
     */
    private record EngineFeed(int id, long pid, EngineService engine, SharedQueue events, PeerArenas peers)
            implements MessageCodec.RouterMessages {
        @Override
        public void submit(Submission s) {
            refusable(s, () -> engine.resume(s.request(), s.emitted(), sink(s)));
        }

        @Override
        public void prefill(Submission s) {
            refusable(s, () -> engine.prefill(s.request(), sink(s),
                    (blocks, tokens) -> MessageCodec.writeHandedOff(events, s.key(), new KvSource(id, pid, tokens, blocks))));
        }

        @Override
        public void submitWithKv(Submission s, KvSource source) {
            String requestId = s.request().requestId();
            // a handoff to itself (no other decode worker was alive) needs no mapping: the engine keeps the blocks;
            // an arena that cannot be mapped (null) makes the engine recompute the prompt
            PageArena arena = source.worker() == id && source.pid() == pid ? null : peers.arena(source.worker(), source.pid());
            KvImport kvImport = new KvImport(arena, source.blocks(), source.tokens(), (bytes, nanos, reused) ->
                    MessageCodec.writeKvReceived(events, s.key(), source.worker(), source.pid(), requestId, bytes, nanos));
            if (!refusable(s, () -> engine.resumeWithKv(s.request(), s.emitted(), sink(s), kvImport))) {
                MessageCodec.writeKvReceived(events, s.key(), source.worker(), source.pid(), requestId, -1, 0);
            }
        }

        @Override
        public void abort(String requestId) {
            engine.abort(requestId);
        }

        @Override
        public void release(String requestId) {
            engine.releaseHandoff(requestId);
        }

        @Override
        public void warmedUp() {
            try {
                engine.routerWarmedUp();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private EventSink sink(Submission s) {
            return new EventSink(events, s.key(), s.emitted().length);
        }

        /** Runs {@code enqueue}; false when the engine refused the request, which then ends at once. */
        private boolean refusable(Submission s, Runnable enqueue) {
            try {
                enqueue.run();
                return true;
            } catch (ServiceException e) {
                System.err.println("xllm worker: refused " + s.request().requestId() + ": " + e.getMessage());
                MessageCodec.writeFinished(events, s.key(), FinishReason.ABORT, new Usage(s.request().promptLength(), s.emitted().length, 0));
                return false;
            }
        }
    }

    /**
     * Whether the shared-memory file system has room for this worker's KV arena. A file there larger than the
     * room left would fault when its pages are first touched; without room the worker keeps its KV private,
     * and what it hands off is recomputed by the decode worker instead of copied.
     */
    private static boolean sharedArenaFits(ShmLayout layout, long kvBytes) {
        try {
            long usable = Files.getFileStore(layout.dir()).getUsableSpace();
            if (usable >= kvBytes + (kvBytes >> 3)) {
                return true;
            }
            System.err.println("xllm worker: " + layout.dir() + " has " + (usable >> 20) + " MB free, too little for a "
                    + (kvBytes >> 20) + " MB shared KV arena; keeping the KV private (handoffs from here are recomputed)");
        } catch (IOException e) {
            System.err.println("xllm worker: cannot tell the free space of " + layout.dir() + ": " + e.getMessage());
        }
        return false;
    }

    private static void heartbeats(long routerPid, EngineService engine, SharedQueue events, KvIndexFeed feed,
                                   CacheChanges.Collector cacheChanges) {
        long pid = ProcessHandle.current().pid();
        while (ProcessHandle.of(routerPid).map(ProcessHandle::isAlive).orElse(false)) {
            feed.drain(CacheChanges.MAX_PER_HEARTBEAT);
            MessageCodec.writeHeartbeat(events, new Heartbeat(pid, engine.requestsInFlight(), engine.freeKvBlocks(),
                    engine.totalKvBlocks(), engine.kvUsage(), engine.specDecodeCounts(), engine.takeStepTimes(), cacheChanges.take()));
            LockSupport.parkNanos(HEARTBEAT_MILLIS * 1_000_000);
        }
        System.err.println("xllm worker: router " + routerPid + " is gone; stopping");
    }
}
