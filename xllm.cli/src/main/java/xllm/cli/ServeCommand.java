package xllm.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import xllm.api.InferenceService;
import xllm.http.OpenAiServer;
import xllm.http.ServedParts;
import xllm.http.ServerOptions;
import xllm.sched.EngineService;
import xllm.engine.scheduler.SchedulerConfig;
import xllm.engine.spec.SpeculativeConfig;
import xllm.sched.StoredJobs;
import xllm.sched.cluster.ClusterService;
import xllm.sched.cluster.PdPolicy;
import xllm.sched.cluster.WorkerRole;
import xllm.sched.nodes.CachedBlocks;
import xllm.sched.nodes.EngineCachedBlocks;
import xllm.sched.nodes.EtcdOptions;
import xllm.sched.nodes.NodeGenerations;
import xllm.sched.nodes.NodeLoad;
import xllm.sched.nodes.NodeRegistration;

/**
 * {@code xllm serve}: the OpenAI-compatible server for one model. The HTTP port opens at once and answers
 * 503 until the model has loaded.
 */
final class ServeCommand {
    static final String USAGE = """
            usage: xllm serve [--model DIR|FILE.gguf] [--quantization q8_0|q4_0] [--host 127.0.0.1] [--port 8080] [--api-key-file FILE] [--served-model-name NAME]
                              [--max-num-batched-tokens 2048] [--max-num-seqs 64] [--max-waiting 1024]
                              [--no-prefix-caching] [--block-size 16] [--kv-cache-mb 512] [--threads N] [--max-body-mb 4]
                              [--workers N [--shm-dir /dev/shm/xllm-PORT]] [--state-dir /var/tmp/xllm-PORT] [--activations f32|bf16]
                              [--kv-cache-dtype f16|f32] [--speculative-config JSON] [--offline-max-batch auto|N]
                              [--roles ROLE,...] [--pd-policy static|slo [--target-ttft-ms 1000] [--target-tpot-ms 50]]
                              [--kv-idle-release-s 60] [--kv-offload-dir DIR [--kv-offload-gb 16]]
                              [--ssl-certfile FILE --ssl-keyfile FILE [--ssl-ca-certs FILE]] [--header-timeout-s 30]
                              [--keep-alive-timeout-s 60] [--max-connections 2048] [--log-requests]
              --workers N   a router process plus N worker processes sharing memory; each worker gets --kv-cache-mb
                            and its share of the cores (--threads, per worker)
              --roles       one per worker: prefill (computes prompts and first tokens, then hands the KV cache
                            to a decode worker through shared memory), decode, or mixed (whole requests; the default)
              --pd-policy   static (the default): roles stay as given; slo: each worker's prefill and decode
                            latencies are learnt from its steps, prompts and decodes go where the targets are
                            met, and roles switch (keeping one of each) as the load moves between them
              --kv-cache-mb the most KV cache memory: address space is reserved, memory is taken as blocks are first
                            used; after --kv-idle-release-s seconds without work (0: never) the pages of free blocks
                            go back to the system (cached prefixes keep theirs)
              --kv-offload-dir  a disk tier for the prefix cache: every cached block is also written there (in the
                            background), a prompt whose prefix is there loads it instead of computing it, across
                            restarts and co-located workers; least recently used files go past --kv-offload-gb
              --state-dir   where offline jobs (POST /v1/jobs) and their results are kept across restarts; it, --shm-dir
                            and --kv-offload-dir are made owner-only (mode 700, files 600), and an existing one is used only
                            if it is this user's and closed to others
              --offline-max-batch  offline work (jobs, "service_tier":"flex") decodes beside online work only in steps
                            of at most N decoding sequences; auto (the default) measures where decoding stops being
                            memory-bound. Offline prompts wait for online ones; alone, offline work runs at full speed
              --activations what BF16 weights multiply against: bf16 (the default where the CPU has AVX-512 BF16;
                            faster) or f32 (reproduces a float32 reference)
              --kv-cache-dtype  f16 (the default where the native attention kernel runs: twice the tokens per MB)
                            or f32 (exact)
              --speculative-config  speculative decoding, as vLLM spells it: {"method":"suffix"|"ngram"|"draft"|"mtp",
                            "num_speculative_tokens":K, ...}; "draft" needs "model":DIR (models/pycoder-draft-4m for
                            the default model)
              --etcd URL    join a multi-node deployment: register this node in etcd under a lease, publish its load
                            and cached prefix blocks, and take requests from routers (xllm router); with
                            --node-name NAME (host and port by default) and --advertise-url URL (where routers reach
                            this node; http://HOST:PORT by default, https with --ssl-certfile)
            """.stripTrailing() + "\n" + ServerArgs.USAGE + "\n" + EtcdArgs.USAGE;

    private static final Set<String> OPTIONS = withShared("--node-name", "--advertise-url", "--model", "--port", "--served-model-name",
            "--max-num-batched-tokens", "--max-num-seqs", "--max-waiting", "--block-size", "--kv-cache-mb", "--threads",
            "--quantization", "--activations", "--kv-cache-dtype", "--workers", "--shm-dir", "--state-dir", "--speculative-config",
            "--offline-max-batch", "--roles", "--kv-idle-release-s", "--kv-offload-dir", "--kv-offload-gb", "--pd-policy", "--target-ttft-ms", "--target-tpot-ms");

    private static final Set<String> FLAGS = withFlags("--no-prefix-caching");

    private ServeCommand() {
    }

    private static Set<String> withFlags(String... flags) {
        Set<String> all = new java.util.HashSet<>(List.of(flags));
        all.addAll(ServerArgs.FLAGS);
        return Set.copyOf(all);
    }

    /** {@code options} and those serve shares with others: etcd's and the HTTP server's. */
    private static Set<String> withShared(String... options) {
        Set<String> all = new java.util.HashSet<>(List.of(options));
        all.addAll(EtcdArgs.OPTIONS);
        all.addAll(ServerArgs.OPTIONS);
        return Set.copyOf(all);
    }

    static int run(String[] argv) throws InterruptedException {
        Args args = Args.parse("serve", argv, 1, OPTIONS, FLAGS);
        Path dir = LoadedModel.resolveDirectory(args);
        int port = ServerArgs.port(args);
        int blockSize = args.integer("--block-size", 16);
        if (blockSize < 1 || blockSize > 1024) {
            throw new UsageException("--block-size must be in 1..1024, got " + blockSize);
        }
        SchedulerConfig scheduler = schedulerConfig(args);
        // checked here, before anything starts: workers would each fail on a mistake in it, and be restarted forever
        SpeculativeConfig speculation = LoadedModel.speculativeConfig(args, dir);
        String name = args.string("--served-model-name", dir.getFileName().toString());
        ServerOptions options = ServerArgs.parse(args, port, name);
        // as many job requests at once as an engine runs: the scheduler keeps them to the slack online work leaves
        StoredJobs jobs = new StoredJobs(Path.of(args.string("--state-dir", "/var/tmp/xllm-" + port)), scheduler.maxNumSeqs());
        for (String o : List.of("--roles", "--pd-policy", "--target-ttft-ms", "--target-tpot-ms")) {
            if (args.has(o) && !args.has("--workers")) {
                throw new UsageException(o + " needs --workers N (roles belong to worker processes)");
            }
        }
        EtcdOptions etcd = EtcdArgs.parse(args);
        if (args.has("--workers")) {
            return serveWithWorkers(args, argv, dir, name, port, blockSize, scheduler, options, jobs, etcd);
        }
        EngineCachedBlocks cached = new EngineCachedBlocks();
        EngineService service = EngineService.startLoading(new EngineService.Options(dir, LoadedModel.quantization(args), LoadedModel.activations(args), name,
                GenerateCommand.threads(args), GenerateCommand.kvBytes(args), LoadedModel.kvDtype(args), blockSize, scheduler,
                speculation).withKvTiers(LoadedModel.kvTiers(args)), etcd == null ? null : cached.listener());
        cached.diskTier(service::forEachBlockOnDisk);
        OpenAiServer server = OpenAiServer.start(service, parts(jobs, etcd, service).withSleep(service), options);
        System.err.println("xllm: serving " + name + " on " + options.scheme() + "://" + options.host() + ":" + server.port() + " (loading the model)");
        Registration registration = new Registration();
        CountDownLatch stopped = closeOnShutdown(registration, server, jobs, service);
        while (!service.ready() && service.loadFailure() == null) {
            Thread.sleep(20);
        }
        if (service.loadFailure() != null) {
            server.close();
            throw new UsageException("cannot load model " + dir + ": " + service.loadFailure().getMessage());
        }
        ServedPathWarmUp.run(options, server.port());
        service.servedPathWarmedUp();
        System.err.println("xllm: model loaded; ready");
        registration.start(args, etcd, options, server.port(), name, blockSize, scheduler,
                () -> new NodeLoad(service.requestsInFlight(), service.kvUsage()), cached);
        stopped.await();
        return 0;
    }

    /** The scheduling options of serve, which its workers take over too. */
    static SchedulerConfig schedulerConfig(Args args) {
        String offline = args.string("--offline-max-batch", "auto").trim();
        int offlineMaxBatch = SchedulerConfig.OFFLINE_MAX_BATCH_AUTO;
        if (!offline.equals("auto")) {
            try {
                offlineMaxBatch = Integer.parseInt(offline);
            } catch (NumberFormatException e) {
                offlineMaxBatch = -1;
            }
            if (offlineMaxBatch < 1) {
                throw new UsageException("--offline-max-batch must be auto or a batch size of at least 1, got \"" + offline + "\"");
            }
        }
        try {
            return new SchedulerConfig(args.integer("--max-num-batched-tokens", 2048), args.integer("--max-num-seqs", 64),
                    args.integer("--max-waiting", 1024), !args.flag("--no-prefix-caching"), offlineMaxBatch);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The router: HTTP here, the engines in {@code --workers} processes started with this command's model options. */
    private static int serveWithWorkers(Args args, String[] argv, Path dir, String name, int port, int blockSize,
            SchedulerConfig scheduler, ServerOptions options, StoredJobs jobs, EtcdOptions etcd) throws InterruptedException {
        int workers = args.integer("--workers", 1);
        if (workers < 1 || workers > 16) {
            throw new UsageException("--workers must be in 1..16, got " + workers);
        }
        int threads = args.has("--threads") ? args.integer("--threads", 1)
                : Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        List<String> command = new ArrayList<>(WorkerCommand.launcher());
        command.add("worker");
        command.addAll(WorkerCommand.engineOptions(argv, threads));
        Path shm = Path.of(args.string("--shm-dir", "/dev/shm/xllm-" + port));
        List<WorkerRole> roles = roles(args, workers);
        ClusterService service = ClusterService.start(new ClusterService.Options(shm, workers, command, dir, name, blockSize, scheduler,
                roles, pdPolicy(args), Set.of(ApiKey.VARIABLE, EtcdArgs.PASSWORD_VARIABLE)));
        OpenAiServer server = OpenAiServer.start(service, parts(jobs, etcd, service).withWorkers(service), options);
        System.err.println("xllm: serving " + name + " on " + options.scheme() + "://" + options.host() + ":" + server.port() + " with " + workers
                + " workers of " + threads + " threads (shared memory " + shm + ")");
        Registration registration = new Registration();
        CountDownLatch stopped = closeOnShutdown(registration, server, jobs, service);
        while (!service.ready()) {
            Thread.sleep(20);
        }
        ServedPathWarmUp.run(options, server.port());
        service.servedPathWarmedUp();
        System.err.println("xllm: all workers loaded; ready");
        registration.start(args, etcd, options, server.port(), name, blockSize, scheduler,
                () -> new NodeLoad(service.load(), service.kvUsage()), service::forEachCachedBlock);
        stopped.await();
        return 0;
    }

    /** {@code --pd-policy} and its targets. */
    private static PdPolicy pdPolicy(Args args) {
        String policy = args.string("--pd-policy", "static");
        if (!policy.equals("static") && !policy.equals("slo")) {
            throw new UsageException("--pd-policy must be static or slo, got " + policy);
        }
        try {
            return new PdPolicy(policy.equals("slo"), args.decimal("--target-ttft-ms", 1000), args.decimal("--target-tpot-ms", 50));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** {@code --roles}: one role per worker, all mixed when absent. */
    private static List<WorkerRole> roles(Args args, int workers) {
        if (!args.has("--roles")) {
            return Collections.nCopies(workers, WorkerRole.MIXED);
        }
        List<WorkerRole> roles = new ArrayList<>();
        try {
            for (String label : args.string("--roles", "").split(",", -1)) {
                roles.add(WorkerRole.parse(label));
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException("--roles: " + e.getMessage());
        }
        if (roles.size() != workers) {
            throw new UsageException("--roles names " + roles.size() + " roles for " + workers + " workers (one per worker)");
        }
        return roles;
    }

    /** The server's parts: jobs, and with {@code --etcd} the channel routers send requests through. */
    private static ServedParts parts(StoredJobs jobs, EtcdOptions etcd, InferenceService service) {
        return ServedParts.none().withJobs(jobs).withChannel(etcd == null ? null : new NodeGenerations(service));
    }

    /** This node's registration in etcd once it serves; nothing without {@code --etcd}. Closed first at shutdown. */
    private static final class Registration implements AutoCloseable {
        private volatile NodeRegistration registration;

        void start(Args args, EtcdOptions etcd, ServerOptions options, int port, String model, int blockSize, SchedulerConfig scheduler,
                   Supplier<NodeLoad> load, CachedBlocks blocks) {
            if (etcd == null) {
                return;
            }
            String host = options.host().equals("0.0.0.0") || options.host().equals("::") ? "127.0.0.1" : options.host();
            String url = args.string("--advertise-url", options.scheme() + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
            NodeRegistration.Identity identity = new NodeRegistration.Identity(args.string("--node-name", EtcdArgs.defaultName(port)),
                    url.endsWith("/") ? url.substring(0, url.length() - 1) : url, "mixed", model, blockSize, scheduler.maxNumSeqs());
            registration = NodeRegistration.start(etcd, identity, load, blocks);
        }

        @Override
        public void close() {
            NodeRegistration r = registration;
            if (r != null) {
                r.close();
            }
        }
    }

    /** Closes {@code parts} in order when the JVM shuts down (Ctrl-C, SIGTERM); the latch opens when they are closed. */
    static CountDownLatch closeOnShutdown(AutoCloseable... parts) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (AutoCloseable part : parts) {
                try {
                    part.close();
                } catch (Exception e) {
                    System.err.println("xllm: while stopping: " + e);
                }
            }
            stopped.countDown();
        }));
        return stopped;
    }
}
