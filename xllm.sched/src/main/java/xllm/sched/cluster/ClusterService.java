package xllm.sched.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;
import xllm.api.ChatMessage;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.InferenceService;
import xllm.api.JobService;
import xllm.api.Logprobs;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.api.WorkerPool;
import xllm.api.WorkerStatus;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelConfig;
import xllm.engine.model.ModelLoader;
import xllm.engine.tokenizer.GgufTokenizer;
import xllm.engine.tokenizer.Tokenizer;
import xllm.kv.BlockHashes;
import xllm.sched.SchedulerConfig;
import xllm.sched.ServiceMetrics;
import xllm.sched.ServedText;

/**
 * The router of several worker processes on one machine, as the HTTP layer sees it: admits requests,
 * journals them, routes each to a worker by cached prefix and load, relays the worker's tokens to the
 * client, and when a worker dies resumes its requests on a live one from the tokens already sent.
 * Thread-safe: request threads submit and abort; one event thread per worker relays its output; the
 * supervisor's callback moves a dead worker's requests. Placement changes hold {@code placement}.
 */
public final class ClusterService implements InferenceService, WorkerPool, AutoCloseable {
    private static final long HEARTBEAT_TIMEOUT_NANOS = 2_000_000_000L;
    private static final long IDLE_PARK_NANOS = 100_000;
    private static final int MAX_FLIGHTS = 1 << 16;

    /**
     * @param shmDir the shared-memory directory (queues, KV index, journal)
     * @param workerCommand how to run {@code xllm worker} with its model options, without id, dir and router pid
     * @param blockSize KV block size of every worker, for prefix keys
     */
    public record Options(Path shmDir, int workers, List<String> workerCommand, Path modelDir, String servedModelName,
                          int blockSize, SchedulerConfig scheduler) {
        public Options {
            if (workers < 1 || workers > KvIndex.MAX_WORKERS) {
                throw new IllegalArgumentException("--workers must be in 1.." + KvIndex.MAX_WORKERS + ", got " + workers);
            }
        }
    }

    private final Options options;
    private final ShmLayout layout;
    private final ServedText text;
    private final Journal journal;
    private final KvIndex index;
    private final WorkerLink[] links;
    private final WorkerSupervisor supervisor;
    private final FlightTable flights = new FlightTable(MAX_FLIGHTS);
    private final ClusterMetrics metrics;
    /** vLLM's request metrics, measured where clients see them: at the router. */
    private final ServiceMetrics serviceMetrics;
    private final Map<String, RecoveredRequest> recovered = new ConcurrentHashMap<>();
    private final ArrayDeque<Flight> orphans = new ArrayDeque<>();
    private final Object placement = new Object();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean ready;
    private volatile boolean closing;

    private ClusterService(Options options, ShmLayout layout, ServedText text, Journal journal, KvIndex index) {
        this.options = options;
        this.layout = layout;
        this.text = text;
        this.journal = journal;
        this.index = index;
        this.metrics = new ClusterMetrics(options.workers());
        this.serviceMetrics = new ServiceMetrics(options.servedModelName());
        this.links = new WorkerLink[options.workers()];
        for (int w = 0; w < links.length; w++) {
            links[w] = new WorkerLink(w, layout);
        }
        // workers report running and waiting together as their load; it is shown as running
        serviceMetrics.gauges(() -> sumOfLinks(l -> l.load), () -> 0, () -> sumOfLinks(l -> l.kvUsage) / links.length);
        this.supervisor = new WorkerSupervisor(options.workerCommand(), layout, options.workers(), this::workerDied);
    }

    /**
     * Clears what an earlier router left in the directory (its workers, channels, index), reads its journal
     * back, and starts the workers; returns before they are ready ({@link #ready()}).
     */
    public static ClusterService start(Options options) {
        ShmLayout layout = new ShmLayout(options.shmDir());
        try {
            Files.createDirectories(layout.dir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the shared-memory directory " + layout.dir(), e);
        }
        WorkerSupervisor.endStrays(layout);
        layout.clearChannels();
        Tokenizer tokenizer = Tokenizer.forModel(options.modelDir());
        ServedText text = new ServedText(tokenizer, config(options.modelDir()), options.servedModelName(), Instant.now().getEpochSecond());
        Journal journal = Journal.open(layout.journal());
        ClusterService service = new ClusterService(options, layout, text, journal, KvIndex.open(layout.kvIndex()));
        int dropped = 0;
        for (Map.Entry<String, RecoveredRequest> e : journal.recover().entrySet()) {
            if (e.getValue().offline()) {
                service.recovered.put(e.getKey(), e.getValue());
            } else {
                dropped++;
            }
        }
        if (!service.recovered.isEmpty() || dropped > 0) {
            System.err.println("xllm: journal: " + service.recovered.size() + " unfinished job requests to resume, "
                    + dropped + " interrupted streams dropped");
        }
        service.startThreads();
        return service;
    }

    private static ModelConfig config(Path model) {
        if (Files.isDirectory(model)) {
            return ModelConfig.load(model);
        }
        try (CausalLM lm = ModelLoader.load(model)) {
            return lm.config();
        }
    }

    private void startThreads() {
        for (WorkerLink link : links) {
            threads.add(Thread.ofPlatform().name("xllm-events-" + link.id).daemon().start(() -> relay(link)));
        }
        threads.add(Thread.ofPlatform().name("xllm-watchdog").daemon().start(this::watch));
        for (int w = 0; w < links.length; w++) {
            supervisor.start(w);
        }
    }

    // ---- requests ----

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        text.checkIds(request.promptIds(), "prompt");
        text.checkContext(request.promptLength(), request.params().maxTokens());
        checkKvCapacity(request);
        if (flights.size() >= options.workers() * (options.scheduler().maxNumSeqs() + options.scheduler().maxWaiting())) {
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the server's request queue is full; retry later", null);
        }
        RecoveredRequest earlier = recovered.remove(request.requestId());
        GenerateRequest effective = earlier != null ? earlier.request() : request;
        long key = flights.reserve();
        if (key < 0) {
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the router tracks too many requests; retry later", null);
        }
        boolean offline = request.requestId().startsWith(JobService.REQUEST_ID_PREFIX);
        Flight flight = new Flight(key, effective, offline, sink, serviceMetrics);
        if (!flights.add(flight)) {
            flights.release(key);
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return;
        }
        metrics.admitted.increment();
        journal.admitted(key, effective, offline);
        if (earlier != null) {
            flight.replay(earlier.tokens());
            FinishReason done = finishedBy(effective, earlier.tokens());
            if (done != null) {
                end(flight, done);
                return;
            }
            metrics.resumed.increment();
        }
        int[] matched = matchedBlocks(effective);
        synchronized (placement) {
            place(flight, matched);
        }
    }

    @Override
    public void abort(String requestId) {
        Flight flight = flights.byId(requestId);
        if (flight == null) {
            return;
        }
        synchronized (placement) {
            int worker = flight.abort();
            if (worker == Flight.UNASSIGNED) {
                orphans.remove(flight);
                end(flight, FinishReason.ABORT);
            } else {
                links[worker].abort(flight.key, requestId);
            }
        }
    }

    /** Puts a flight on the best live worker, or among the orphans when none is alive. Holds {@code placement}. */
    private void place(Flight flight, int[] matched) {
        List<PrefixAwareRouting.Candidate> candidates = new ArrayList<>();
        for (WorkerLink l : links) {
            if (l.alive) {
                candidates.add(new PrefixAwareRouting.Candidate(l.id, matched[l.id], l.kvUsage, l.assigned.get()));
            }
        }
        if (candidates.isEmpty()) {
            flight.assign(Flight.UNASSIGNED);
            orphans.add(flight);
            return;
        }
        int promptBlocks = (flight.request.promptLength() - 1) / options.blockSize();
        PrefixAwareRouting.Route route = PrefixAwareRouting.choose(candidates, promptBlocks, options.scheduler().maxNumSeqs());
        int[] emitted = flight.assign(route.worker());
        if (emitted == null) {
            return;
        }
        metrics.routed(route.worker(), route.prefix());
        WorkerLink link = links[route.worker()];
        link.assigned.incrementAndGet();
        link.submit(flight.key, flight.request, emitted);
    }

    /** Per worker, how many leading full blocks of the prompt the KV index says it caches. */
    private int[] matchedBlocks(GenerateRequest request) {
        int[] matched = new int[links.length];
        int bs = options.blockSize();
        int blocks = (request.promptLength() - 1) / bs;
        int[] tokens = request.promptIds();
        long key = BlockHashes.ROOT;
        for (int i = 0; i < blocks; i++) {
            key = BlockHashes.chain(key, tokens, i * bs, bs);
            long owners = index.owners(key);
            boolean any = false;
            for (int w = 0; w < matched.length; w++) {
                if (matched[w] == i && (owners >>> w & 1) != 0) {
                    matched[w]++;
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        return matched;
    }

    private void checkKvCapacity(GenerateRequest request) {
        int smallest = Integer.MAX_VALUE;
        for (WorkerLink l : links) {
            if (l.totalBlocks > 0) {
                smallest = Math.min(smallest, l.totalBlocks);
            }
        }
        int tokens = request.promptLength() + request.params().maxTokens();
        if (smallest != Integer.MAX_VALUE && (tokens + options.blockSize() - 1) / options.blockSize() > smallest) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, "request needs " + tokens
                    + " tokens of KV cache but a worker holds only " + smallest * options.blockSize()
                    + "; reduce max_tokens or start the server with a larger --kv-cache-mb", "max_tokens");
        }
    }

    /** Why a recovered request had already ended with the tokens it has, or null. */
    private FinishReason finishedBy(GenerateRequest r, int[] tokens) {
        if (tokens.length == 0) {
            return null;
        }
        int last = tokens[tokens.length - 1];
        boolean eos = !r.params().ignoreEos() && java.util.Arrays.stream(text.eosTokenIds()).anyMatch(id -> id == last);
        if (r.params().isStopToken(last) || eos) {
            return FinishReason.STOP;
        }
        return tokens.length >= r.params().maxTokens() ? FinishReason.LENGTH : null;
    }

    private void end(Flight flight, FinishReason reason) {
        if (flight.finishHere(reason)) {
            journal.done(flight.key);
            flights.remove(flight);
        }
    }

    // ---- events from workers ----

    /**
     * The event thread of one worker: relays tokens and ends to the clients, takes heartbeats. Reads the
     * queue from its start, which the router emptied before starting any worker.
     */
    private void relay(WorkerLink link) {
        ExcerptTailer tailer = link.events.tailer(); // a tailer stays on the thread that made it
        Logprobs logprobs = new Logprobs();
        while (!closing) {
            boolean read;
            try (DocumentContext dc = tailer.readingDocument()) {
                read = dc.isPresent();
                if (read) {
                    handle(link, dc.wire().bytes(), logprobs);
                }
            } catch (RuntimeException e) {
                if (closing) {
                    return;
                }
                System.err.println("xllm: event from worker " + link.id + " failed: " + e);
                read = true;
            }
            if (!read) {
                LockSupport.parkNanos(IDLE_PARK_NANOS);
            }
        }
    }

    private void handle(WorkerLink link, Bytes<?> in, Logprobs logprobs) {
        byte kind = in.readByte();
        if (kind == MessageKind.TOKEN) {
            long key = in.readLong();
            int position = in.readInt();
            int token = in.readInt();
            int top = in.readByte();
            if (top >= 0) {
                logprobs.set(token, in.readFloat());
                for (int i = 0; i < top; i++) {
                    logprobs.addTop(in.readInt(), in.readFloat());
                }
            }
            Flight flight = flights.get(key);
            if (flight != null && flight.token(link.id, position, token, top >= 0 ? logprobs : null)) {
                journal.progress(key, token);
            }
        } else if (kind == MessageKind.FINISHED) {
            long key = in.readLong();
            FinishReason reason = FinishReason.values()[in.readByte()];
            Usage usage = new Usage(in.readInt(), in.readInt(), in.readInt());
            Flight flight = flights.get(key);
            if (flight != null && flight.finish(link.id, reason, usage)) {
                journal.done(key);
                flights.remove(flight);
                link.assigned.decrementAndGet();
            }
        } else if (kind == MessageKind.HEARTBEAT) {
            heartbeat(link, in.readLong(), in.readInt(), in.readInt(), in.readInt(), in.readDouble());
        }
    }

    private void heartbeat(WorkerLink link, long pid, int load, int free, int total, double kvUsage) {
        if (pid != supervisor.pid(link.id)) {
            return; // a process that has since been replaced
        }
        link.load = load;
        link.freeBlocks = free;
        link.totalBlocks = total;
        link.kvUsage = kvUsage;
        link.lastHeartbeatNanos = System.nanoTime();
        if (!link.alive) {
            synchronized (placement) {
                link.pid = pid;
                link.alive = true;
                System.err.println("xllm: worker " + link.id + " (pid " + pid + ") ready");
                while (!orphans.isEmpty()) {
                    Flight f = orphans.poll();
                    place(f, matchedBlocks(f.request));
                }
            }
            boolean all = true;
            for (WorkerLink l : links) {
                all &= l.alive;
            }
            ready |= all;
        }
    }

    // ---- failures ----

    /** A worker's process ended: its requests resume elsewhere (or wait for a worker), its cache is gone. */
    private void workerDied(int worker) {
        WorkerLink link = links[worker];
        synchronized (placement) {
            link.alive = false;
            link.assigned.set(0);
            for (Flight f : flights.on(worker)) {
                if (f.aborted()) {
                    end(f, FinishReason.ABORT);
                } else {
                    metrics.resumed.increment();
                    place(f, new int[links.length]);
                }
            }
        }
        metrics.restarts.increment();
        index.forget(worker);
    }

    /** Kills workers whose heartbeats stopped; their deaths are then handled as any other. */
    private void watch() {
        while (!closing) {
            long now = System.nanoTime();
            for (WorkerLink l : links) {
                if (l.alive && now - l.lastHeartbeatNanos > HEARTBEAT_TIMEOUT_NANOS) {
                    System.err.println("xllm: worker " + l.id + " missed its heartbeats for 2 s; killing it");
                    l.alive = false;
                    supervisor.kill(l.id);
                }
            }
            LockSupport.parkNanos(200_000_000L);
        }
    }

    // ---- the rest of the service ----

    @Override
    public List<WorkerStatus> workers() {
        List<WorkerStatus> out = new ArrayList<>();
        for (WorkerLink l : links) {
            out.add(new WorkerStatus(l.id, l.alive ? l.pid : supervisor.pid(l.id), "mixed", l.alive, l.load, l.freeBlocks));
        }
        return out;
    }

    @Override
    public ModelInfo model() {
        return text.info();
    }

    /** True once every worker has answered once; later, requests wait for a worker rather than fail. */
    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public int[] tokenize(String s, boolean addSpecialTokens) {
        return text.tokenize(s, addSpecialTokens);
    }

    @Override
    public String detokenize(int[] ids, boolean skipSpecialTokens) {
        return text.detokenize(ids, skipSpecialTokens);
    }

    @Override
    public TextStream newTextStream() {
        return text.newTextStream();
    }

    @Override
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return text.renderChat(messages, addGenerationPrompt);
    }

    @Override
    public int[] eosTokenIds() {
        return text.eosTokenIds();
    }

    private double sumOfLinks(java.util.function.ToDoubleFunction<WorkerLink> value) {
        double sum = 0;
        for (WorkerLink l : links) {
            sum += value.applyAsDouble(l);
        }
        return sum;
    }

    @Override
    public String metricsText() {
        return serviceMetrics.render() + metrics.render(links);
    }

    /** Stops the workers, ends what is left, and removes the shared-memory directory. */
    @Override
    public void close() {
        closing = true;
        supervisor.close();
        for (WorkerLink l : links) {
            for (Flight f : flights.on(l.id)) {
                f.finishHere(FinishReason.ABORT);
            }
        }
        for (Thread t : threads) {
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (WorkerLink l : links) {
            l.close();
        }
        journal.close();
        index.close();
        layout.removeAll();
    }
}
