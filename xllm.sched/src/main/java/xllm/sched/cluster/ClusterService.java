package xllm.sched.cluster;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.TokenSink;
import xllm.api.WorkerPool;
import xllm.api.WorkerStatus;
import xllm.engine.model.ModelConfig;
import xllm.engine.scheduler.SchedulerConfig;
import xllm.engine.tokenizer.Tokenizer;
import xllm.kv.files.PrivateFiles;
import xllm.sched.ServedText;
import xllm.sched.ServedTextService;
import xllm.sched.ServiceMetrics;
import xllm.sched.SpecDecodeCounts;

/**
 * The router of several worker processes on one machine, as the HTTP layer sees it: admits requests
 * ({@link ClusterAdmission}), routes each to a worker ({@link FlightRouter}), relays the workers' tokens
 * to the clients ({@link EventRelay}), and watches their heartbeats ({@link HeartbeatWatchdog}); a dead
 * worker's requests resume on a live one from the tokens already sent. Thread-safe: request threads
 * submit and abort; one event thread per worker and a watchdog thread run behind it.
 */
public final class ClusterService implements ServedTextService, WorkerPool, AutoCloseable {
    /**
     * @param shmDir the shared-memory directory (queues, KV index, journal), made private (mode 700) or refused
     * @param workerCommand how to run {@code xllm worker} with its model options, without id, dir and router pid
     * @param blockSize KV block size of every worker, for prefix keys
     * @param roles each worker's role at start, one per worker
     * @param pd how prefill and decode work is placed, and whether roles follow the load
     * @param withheldVariables environment variables of the router that workers do not inherit: its secrets (a
     *     worker answers no client and calls no etcd)
     */
    public record Options(Path shmDir, int workers, List<String> workerCommand, Path modelDir, String servedModelName,
                          int blockSize, SchedulerConfig scheduler, List<WorkerRole> roles, PdPolicy pd,
                          java.util.Set<String> withheldVariables) {
        public Options {
            java.util.Objects.requireNonNull(pd, "pd");
            withheldVariables = java.util.Set.copyOf(withheldVariables);
            if (workers < 1 || workers > KvIndex.MAX_WORKERS) {
                throw new IllegalArgumentException("--workers must be in 1.." + KvIndex.MAX_WORKERS + ", got " + workers);
            }
            roles = List.copyOf(roles);
            if (roles.size() != workers) {
                throw new IllegalArgumentException("--roles names " + roles.size() + " roles for " + workers + " workers");
            }
        }

        /** Every worker mixed: whole requests anywhere. */
        public Options(Path shmDir, int workers, List<String> workerCommand, Path modelDir, String servedModelName,
                       int blockSize, SchedulerConfig scheduler) {
            this(shmDir, workers, workerCommand, modelDir, servedModelName, blockSize, scheduler,
                    java.util.Collections.nCopies(workers, WorkerRole.MIXED), PdPolicy.STATIC, java.util.Set.of());
        }
    }

    private final ShmLayout layout;
    private final ServedText text;
    private final Journal journal;
    private final KvIndex index;
    private final WorkerLink[] links;
    private final JournaledFlights flights;
    private final ClusterMetrics metrics;
    /** vLLM's request metrics, measured where clients see them: at the router. */
    private final ServiceMetrics serviceMetrics;
    private final FlightRouter router;
    private final ClusterAdmission admission;
    private final WorkerSupervisor supervisor;
    private final HeartbeatWatchdog watchdog;
    /** Null unless roles follow the load. */
    private final RoleSwitcher roleSwitcher;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closing;
    /** False until the server in front has warmed its serving path through the workers ({@link #servedPathWarmedUp}). */
    private volatile boolean servedPathWarm;

    private ClusterService(Options options, ShmLayout layout, ServedText text, Journal journal, RecoveredRequests recovered) {
        this.layout = layout;
        this.text = text;
        this.journal = journal;
        this.index = KvIndex.open(layout.kvIndex());
        this.links = new WorkerLink[options.workers()];
        for (int w = 0; w < links.length; w++) {
            links[w] = new WorkerLink(w, options.roles().get(w), layout);
        }
        this.flights = new JournaledFlights(journal);
        this.metrics = new ClusterMetrics(options.workers());
        this.serviceMetrics = new ServiceMetrics(options.servedModelName());
        // workers report running and waiting together as their load; it is shown as running
        serviceMetrics.gauges(() -> sumOfLinks(l -> l.lastBeat.load()), () -> 0,
                () -> sumOfLinks(l -> l.lastBeat.kvUsage()) / links.length);
        serviceMetrics.specDecodeFrom(this::specDecodeOfWorkers);
        SchedulerConfig s = options.scheduler();
        WorkerLoads loads = new WorkerLoads(links, flights);
        RolePolicy rolePolicy = options.pd().slo() ? new RolePolicy(options.roles(), options.pd().config()) : null;
        this.router = new FlightRouter(links, index, flights, metrics, options.blockSize(), s.maxNumSeqs(),
                rolePolicy == null ? null : new SloPlacement(rolePolicy, loads));
        this.admission = new ClusterAdmission(text, links, flights, recovered, metrics, serviceMetrics, options.blockSize(),
                options.workers() * (s.maxNumSeqs() + s.maxWaiting()));
        this.supervisor = new WorkerSupervisor(options.workerCommand(), options.withheldVariables(), layout, options.workers(),
                router::workerDied);
        this.watchdog = new HeartbeatWatchdog(links, supervisor, router, () -> closing);
        this.roleSwitcher = rolePolicy == null ? null : new RoleSwitcher(links, rolePolicy, loads, metrics, () -> closing,
                watchdog::allAnswered);
    }

    /**
     * Clears what an earlier router left in the directory (its workers, channels, index), reads its journal
     * back, and starts the workers; returns before they are ready ({@link #ready()}).
     */
    public static ClusterService start(Options options) {
        ShmLayout layout = new ShmLayout(PrivateFiles.directory(options.shmDir()));
        WorkerSupervisor.endStrays(layout);
        layout.clearChannels();
        Tokenizer tokenizer = Tokenizer.forModel(options.modelDir());
        ServedText text = new ServedText(tokenizer, ModelConfig.forModel(options.modelDir()), options.servedModelName(),
                Instant.now().getEpochSecond());
        Journal journal = Journal.open(layout.journal());
        ClusterService service = new ClusterService(options, layout, text, journal, RecoveredRequests.replay(journal));
        service.startThreads();
        return service;
    }

    private void startThreads() {
        for (WorkerLink link : links) {
            threads.add(Thread.ofPlatform().name("xllm-events-" + link.id).daemon()
                    .start(new EventRelay(link, flights, router, watchdog, index, () -> closing)));
        }
        threads.add(Thread.ofPlatform().name("xllm-watchdog").daemon().start(watchdog));
        if (roleSwitcher != null) {
            threads.add(Thread.ofPlatform().name("xllm-roles").daemon().start(roleSwitcher));
        }
        for (WorkerLink link : links) {
            supervisor.start(link.id);
        }
    }

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        resume(request, new int[0], sink);
    }

    @Override
    public void resume(GenerateRequest request, int[] emitted, TokenSink sink) {
        Flight flight = admission.admit(request, emitted, sink);
        if (flight != null) {
            router.route(flight);
        }
    }

    @Override
    public void abort(String requestId) {
        Flight flight = flights.byId(requestId);
        if (flight != null) {
            router.abort(flight);
        }
    }

    @Override
    public List<WorkerStatus> workers() {
        List<WorkerStatus> out = new ArrayList<>();
        for (WorkerLink l : links) {
            Heartbeat beat = l.lastBeat;
            out.add(new WorkerStatus(l.id, l.alive ? beat.pid() : supervisor.pid(l.id), l.role.label(), l.alive, beat.load(), beat.freeBlocks()));
        }
        return out;
    }

    /** Calls {@code action} with the key of every prefix block some worker caches. */
    public void forEachCachedBlock(java.util.function.LongConsumer action) {
        index.forEachCached(action);
    }

    /** Requests running or waiting on the workers, as their last heartbeats said. */
    public int load() {
        return (int) sumOfLinks(l -> l.lastBeat.load());
    }

    /** Mean KV cache usage of the workers, 0 to 1. */
    public double kvUsage() {
        return sumOfLinks(l -> l.lastBeat.kvUsage()) / links.length;
    }

    /** True once every worker has answered once; later, requests wait for a worker rather than fail. */
    @Override
    public boolean ready() {
        return watchdog.allAnswered();
    }

    /** Ready, and the serving path warm: the router's HTTP, routing and relays, and each worker's engine on real steps. */
    @Override
    public boolean healthy() {
        return ready() && servedPathWarm;
    }

    /**
     * The server in front has sent its warm-up requests through the cluster, and they have ended: they leave the
     * router's metrics, and every worker drops the prefix blocks they left (the KV index hears them evicted) and
     * forgets them in its own metrics. A worker restarted later starts with none of them. Journal entries stay: they
     * are of ended requests, which a restarted router does not replay.
     */
    public void servedPathWarmedUp() {
        serviceMetrics.forgetWarmUp();
        metrics.forgetWarmUp();
        for (WorkerLink l : links) {
            MessageCodec.writeWarmedUp(l.requests);
        }
        servedPathWarm = true;
    }

    private double sumOfLinks(ToDoubleFunction<WorkerLink> value) {
        double sum = 0;
        for (WorkerLink l : links) {
            sum += value.applyAsDouble(l);
        }
        return sum;
    }

    /** The workers' speculative decoding, from their heartbeats: at most one heartbeat period behind. */
    private SpecDecodeCounts specDecodeOfWorkers() {
        SpecDecodeCounts sum = SpecDecodeCounts.NONE;
        for (WorkerLink l : links) {
            sum = sum.plus(l.spec);
        }
        return sum;
    }

    @Override
    public ServedText servedText() {
        return text;
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
