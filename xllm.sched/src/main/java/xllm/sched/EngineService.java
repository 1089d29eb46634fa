package xllm.sched;

import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.InferenceService;
import xllm.api.Logprobs;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.api.SleepMode;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.kernel.ActivationPrecision;
import xllm.kv.KvDtype;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCore;
import xllm.engine.scheduler.KvHandoff;
import xllm.engine.scheduler.KvImport;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;
import xllm.engine.scheduler.SchedulerConfig;
import xllm.engine.weights.DType;
import xllm.engine.tokenizer.Tokenizer;
import xllm.kv.BlockAllocator;
import xllm.kv.DiskBlockStore;

/**
 * One model served by one engine instance in this process: the {@link InferenceService} the HTTP layer
 * talks to. Loads the model in the background ({@link #ready()} turns true when done), admits requests
 * (context and queue limits) and hands them to the engine loop. Thread-safe.
 */
public final class EngineService implements ServedTextService, SleepMode, AutoCloseable {
    private static final String ASLEEP = "the server is asleep; POST /wake_up first";

    /**
     * How to build the engine. {@code kvCacheDtype} null: the most compact the model supports here (see
     * {@link ModelRunner#compactKv}).
     */
    /**
     * @param speculation how the engine speculates; null for plain decoding
     * @param kvPagesFile where the KV pages live so that co-located workers can map them; null for private memory
     * @param kvTiers where KV memory goes beyond the blocks in use: idle release, the disk tier
     */
    public record Options(Path modelDir, DType quantization, ActivationPrecision activations, String servedModelName, int threads, long kvCacheBytes,
                          KvDtype kvCacheDtype, int blockSize, SchedulerConfig scheduler, SpeculativeConfig speculation,
                          Path kvPagesFile, KvTiers kvTiers) {
        public Options {
            java.util.Objects.requireNonNull(kvTiers, "kvTiers");
        }

        public Options(Path modelDir, DType quantization, ActivationPrecision activations, String servedModelName, int threads,
                       long kvCacheBytes, KvDtype kvCacheDtype, int blockSize, SchedulerConfig scheduler) {
            this(modelDir, quantization, activations, servedModelName, threads, kvCacheBytes, kvCacheDtype, blockSize, scheduler, null);
        }

        public Options(Path modelDir, DType quantization, ActivationPrecision activations, String servedModelName, int threads,
                       long kvCacheBytes, KvDtype kvCacheDtype, int blockSize, SchedulerConfig scheduler, SpeculativeConfig speculation) {
            this(modelDir, quantization, activations, servedModelName, threads, kvCacheBytes, kvCacheDtype, blockSize, scheduler,
                    speculation, null, KvTiers.DEFAULT);
        }

        /** The same engine with its KV pages in {@code file}. */
        public Options withKvPagesFile(Path file) {
            return new Options(modelDir, quantization, activations, servedModelName, threads, kvCacheBytes, kvCacheDtype, blockSize,
                    scheduler, speculation, file, kvTiers);
        }

        /** The same engine with its KV memory released and offloaded as {@code tiers} says. */
        public Options withKvTiers(KvTiers tiers) {
            return new Options(modelDir, quantization, activations, servedModelName, threads, kvCacheBytes, kvCacheDtype, blockSize,
                    scheduler, speculation, kvPagesFile, tiers);
        }
    }

    private final Options options;
    private final BlockAllocator.CacheListener cacheListener;
    /** How {@link WarmUp} runs before the service reports ready. */
    private final WarmUp.Mode warmUp;
    /** False until whoever serves this service has warmed its serving path ({@link #servedPathWarmedUp}). */
    private volatile boolean servedPathWarm;
    /** The engine's metrics gate, kept shut while the serving path warms up; null once open. */
    private volatile Warming servedPathWarming;
    private final ServiceMetrics metrics;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final long created = Instant.now().getEpochSecond();
    private volatile Loaded loaded;
    private volatile RuntimeException loadFailure;
    private volatile boolean sleeping;
    private final java.util.concurrent.locks.ReentrantReadWriteLock lifecycle = new java.util.concurrent.locks.ReentrantReadWriteLock();

    /**
     * @param speculation null when the engine does not speculate
     * @param disk the disk tier of the prefix cache; null without one
     */
    private record Loaded(ServedText text, CausalLM model, ComputePool pool, ModelRunner runner, Speculation speculation, EngineLoop loop,
                          EngineCore core, DiskBlockStore disk) {
    }

    private EngineService(Options options, BlockAllocator.CacheListener cacheListener, WarmUp.Mode warmUp) {
        this.options = options;
        this.warmUp = warmUp;
        this.servedPathWarm = warmUp != WarmUp.Mode.COMPILE;
        this.cacheListener = cacheListener;
        this.metrics = new ServiceMetrics(options.servedModelName());
    }

    /** Starts loading in the background and returns at once. */
    public static EngineService startLoading(Options options) {
        return startLoading(options, null);
    }

    /**
     * Starts loading in the background and returns at once; {@code cacheListener} (null for none) hears on the
     * engine thread of every prefix block the instance caches or evicts once it serves. The service turns ready
     * after {@link WarmUp}, so the first requests it takes find compiled code, as later ones do; it reports
     * {@linkplain #healthy healthy} once the server in front has warmed its own path too ({@link #servedPathWarmedUp}),
     * whose requests, like the engine's warm-up, count in no metric.
     */
    public static EngineService startLoading(Options options, BlockAllocator.CacheListener cacheListener) {
        EngineService service = new EngineService(options, cacheListener, WarmUp.Mode.COMPILE);
        Thread.ofPlatform().name("xllm-model-loader").start(service::load);
        return service;
    }

    /** Loads on the calling thread; returns a ready service or throws. */
    public static EngineService load(Options options) {
        EngineService service = new EngineService(options, null, WarmUp.Mode.NONE);
        service.load();
        if (service.loadFailure != null) {
            throw service.loadFailure;
        }
        return service;
    }

    /**
     * Loads on the calling thread, telling {@code cacheListener} (on the engine thread) about every prefix
     * block the instance caches or evicts, and profiles the engine ({@link WarmUp}) before it returns, so that
     * {@link #takeStepTimes} starts with prefill and decode times; returns a ready service or throws.
     */
    public static EngineService load(Options options, BlockAllocator.CacheListener cacheListener) {
        EngineService service = new EngineService(options, cacheListener, WarmUp.Mode.PROFILE);
        service.load();
        if (service.loadFailure != null) {
            throw service.loadFailure;
        }
        return service;
    }

    private void load() {
        try {
            Tokenizer tokenizer = Tokenizer.forModel(options.modelDir());
            CausalLM model = ModelLoader.load(options.modelDir(), options.quantization(), options.activations());
            ComputePool pool = new ComputePool(options.threads());
            KvDtype kvDtype = options.kvCacheDtype() != null ? options.kvCacheDtype() : ModelRunner.compactKv(model, options.blockSize());
            ModelRunner runner = new ModelRunner(model, pool,
                    ModelRunner.blocksForBudget(model, options.kvCacheBytes(), options.blockSize(), kvDtype), options.blockSize(), kvDtype,
                    options.kvPagesFile());
            ServedText text = new ServedText(tokenizer, model.config(), options.servedModelName(), created);
            Speculation speculation = options.speculation() == null ? null
                    : Speculation.create(options.speculation(), runner, pool, options.kvCacheBytes() / 2);
            Warming warming = new Warming(metrics, cacheListener);
            EngineCore core = new EngineCore(runner, options.scheduler(), text.eosTokenIds(), warming, warming, speculation);
            core.enableStructuredOutputs(VocabularyTrie.of(tokenizer, text.eosTokenIds(), runner.vocabSize()));
            DiskBlockStore disk = openDiskTier(runner);
            if (disk != null) {
                disk.pause(warmUp != WarmUp.Mode.NONE); // warm-up prompts are made up: none is written, none is looked up
                core.offloadTo(disk);
            }
            EngineLoop loop = new EngineLoop("xllm-engine-0", core, options.kvTiers().idleReleaseMillis());
            metrics.gauges(loop::running, loop::waiting, loop::kvUsage);
            loop.start();
            if (warmUp != WarmUp.Mode.NONE) {
                if (!WarmUp.run(warmUp, loop, metrics.stepTimes(), model.config().vocabSize(), model.config().maxPositions(),
                        core.totalBlocks() * core.blockSize(), options.scheduler().maxNumBatchedTokens(),
                        options.scheduler().maxNumSeqs())) {
                    System.err.println("xllm: warm-up did not finish; serving cold");
                }
                loop.warmedUp();
            }
            if (servedPathWarm) {
                goLive(warming, disk);
            } else {
                // the requests of the serving path's warm-up count nowhere and reach no disk tier either
                servedPathWarming = warming;
            }
            loaded = new Loaded(text, model, pool, runner, speculation, loop, core, disk);
        } catch (RuntimeException e) {
            loadFailure = e;
            System.err.println("xllm: cannot load model: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            loadFailure = new IllegalStateException("interrupted while warming up", e);
        }
    }

    private DiskBlockStore openDiskTier(ModelRunner runner) {
        KvTiers tiers = options.kvTiers();
        if (tiers.offloadDir() == null) {
            return null;
        }
        String runsAs = "quantization " + options.quantization() + " activations " + options.activations();
        return DiskBlockStore.open(tiers.offloadDir(), tiers.offloadBytes(), KvFingerprint.of(options.modelDir(), runsAs, runner.arena()),
                runner.arena());
    }

    /** Non-null once loading failed. */
    public RuntimeException loadFailure() {
        return loadFailure;
    }

    private Loaded require() {
        Loaded l = loaded;
        if (l == null || sleeping) {
            throw new ServiceException(ServiceException.Kind.UNAVAILABLE, sleeping ? ASLEEP
                    : loadFailure != null ? "model failed to load: " + loadFailure.getMessage() : "model is still loading", null);
        }
        return l;
    }

    @Override
    public ModelInfo model() {
        Loaded l = loaded;
        return l != null ? l.text().info() : new ModelInfo(options.servedModelName(), 0, 0, created);
    }

    @Override
    public boolean ready() {
        return loaded != null && !sleeping;
    }

    /** Ready, and its serving path warm (see {@link #startLoading}). */
    @Override
    public boolean healthy() {
        return ready() && servedPathWarm;
    }

    /**
     * The server in front has sent its warm-up requests through its own serving path: from now on requests
     * count in the metrics, and the service reports healthy.
     */
    public void servedPathWarmedUp() throws InterruptedException {
        Warming w = servedPathWarming;
        Loaded l = loaded;
        if (w != null && l != null) {
            l.loop().warmedUp();  // drops the warm-up's cached blocks and gives their memory back, as after WarmUp
            goLive(w, l.disk());
            servedPathWarming = null;
        }
        servedPathWarm = true;
    }

    /**
     * The router in front of this worker's engine has warmed its serving path through it: the prefix blocks its
     * requests left are dropped (the KV index hears them evicted), the speculation costs measured while the JIT
     * compiled are learned again, and the requests leave the metrics. Returns once the engine has dropped them.
     */
    public void routerWarmedUp() throws InterruptedException {
        Loaded l = loaded;
        if (l != null) {
            l.loop().warmedUp();
        }
        metrics.forgetWarmUp();
    }

    /** Warm-up is over: requests count in the metrics and the global KV index, and reach the disk tier (null: none). */
    private static void goLive(Warming warming, DiskBlockStore disk) {
        warming.live();
        if (disk != null) {
            disk.pause(false);
        }
    }

    @Override
    public String notReadyReason() {
        return sleeping ? ASLEEP : ServedTextService.super.notReadyReason();
    }

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        resume(request, new int[0], sink);
    }

    /**
     * Like {@link #submit}, continuing a generation that another instance began and that produced
     * {@code emitted} so far: {@code sink} gets the tokens after those, and the usage counts them all.
     */
    public void resume(GenerateRequest request, int[] emitted, TokenSink sink) {
        enqueue(request, emitted, sink, null, null);
    }

    /**
     * Like {@link #submit}, but only the prompt and the first token run here: then the prompt's KV blocks are
     * handed to {@code handoff} for a decode instance to copy, and held until {@link #releaseHandoff}.
     */
    public void prefill(GenerateRequest request, TokenSink sink, KvHandoff handoff) {
        enqueue(request, new int[0], sink, handoff, null);
    }

    /**
     * Like {@link #resume}, with the prompt's KV copied from another instance's arena rather than recomputed, or
     * kept where it is when this instance handed the request off itself.
     */
    public void resumeWithKv(GenerateRequest request, int[] emitted, TokenSink sink, KvImport kvImport) {
        enqueue(request, emitted, sink, null, kvImport);
    }

    /** Frees the KV blocks that a prefill-only request handed off. */
    public void releaseHandoff(String requestId) {
        Loaded l = loaded;
        if (l != null) {
            l.loop().releaseHandoff(requestId);
        }
    }

    private void enqueue(GenerateRequest request, int[] emitted, TokenSink sink, KvHandoff handoff, KvImport kvImport) {
        // held while admitting, so that sleep sees every request admitted before it in the in-flight count
        lifecycle.readLock().lock();
        try {
            admit(request, emitted, sink, handoff, kvImport);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void admit(GenerateRequest request, int[] emitted, TokenSink sink, KvHandoff handoff, KvImport kvImport) {
        Loaded l = require();
        int prompt = request.promptLength();
        int maxTokens = request.params().maxTokens();
        l.text().checkIds(request.promptIds(), "prompt");
        l.text().checkContext(prompt, maxTokens);
        Admission.requireKvCapacity(request, l.runner().numBlocks(), l.runner().blockSize(), "the server");
        SchedulerConfig s = options.scheduler();
        try {
            Admission.requireQueueRoom(inFlight.incrementAndGet(), s.maxNumSeqs() + s.maxWaiting(), " (" + s.maxWaiting() + " waiting)");
        } catch (ServiceException e) {
            inFlight.decrementAndGet();
            throw e;
        }
        TokenSink counted = new TokenSink() {
            @Override
            public void onToken(int tokenId, Logprobs logprobs) {
                sink.onToken(tokenId, logprobs);
            }

            @Override
            public void onFinish(FinishReason reason, Usage usage) {
                inFlight.decrementAndGet();
                sink.onFinish(reason, usage);
            }
        };
        // a handed-off request is done here as far as admission goes: its blocks wait, its compute is over
        KvHandoff countedHandoff = handoff == null ? null : (blocks, tokens) -> {
            inFlight.decrementAndGet();
            handoff.handedOff(blocks, tokens);
        };
        if (!l.loop().submit(request, emitted.clone(), counted, countedHandoff, kvImport)) {
            inFlight.decrementAndGet();
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the engine's submission ring is full; retry later", null);
        }
    }

    @Override
    public void abort(String requestId) {
        Loaded l = loaded;
        if (l != null) {
            l.loop().abort(requestId);
        }
    }

    /** Requests being generated and queued, as the engine loop saw them after its last step. */
    public int requestsInFlight() {
        Loaded l = loaded;
        return l == null ? 0 : l.loop().running() + l.loop().waiting();
    }

    /** KV blocks free for new work after the last step. */
    public int freeKvBlocks() {
        Loaded l = loaded;
        return l == null ? 0 : l.loop().freeBlocks();
    }

    public int totalKvBlocks() {
        Loaded l = loaded;
        return l == null ? 0 : l.runner().numBlocks();
    }

    public double kvUsage() {
        Loaded l = loaded;
        return l == null ? 0 : l.loop().kvUsage();
    }

    /** Calls {@code action} with the key of every block the disk tier holds; nothing without one. */
    public void forEachBlockOnDisk(java.util.function.LongConsumer action) {
        Loaded l = loaded;
        if (l != null && l.disk() != null) {
            l.disk().forEachKey(action);
        }
    }

    /** The engine's step times since the last call, for a worker to report to its router. */
    public StepTimes.Taken takeStepTimes() {
        return metrics.stepTimes().take();
    }

    /** What the engine has speculated so far, for a worker to report to its router. */
    public SpecDecodeCounts specDecodeCounts() {
        return metrics.specDecodeCounts();
    }

    @Override
    public ServedText servedText() {
        return require().text();
    }

    @Override
    public String metricsText() {
        Loaded l = loaded;
        return metrics.render() + (l == null ? "" : KvTierMetrics.render(l.core(), l.disk(), options.modelDir()));
    }

    @Override
    public void close() {
        Loaded l = loaded;
        if (l != null) {
            unload(l);
        }
    }

    private static void unload(Loaded l) {
        l.loop().close();
        if (l.disk() != null) {
            l.disk().close();
        }
        if (l.speculation() != null) {
            l.speculation().close();
        }
        l.runner().close();
        l.pool().close();
        l.model().close();
    }

    /**
     * Gives the machine back (vLLM's sleep mode): new requests get 503 at once, those in flight finish (up to
     * {@code drainMillis}, then they are aborted), then the engine stops and its weights and KV cache are unmapped.
     * Returns false when it was asleep already.
     */
    public boolean sleep(long drainMillis) throws InterruptedException {
        lifecycle.writeLock().lock();
        try {
            if (sleeping) {
                return false;
            }
            require();
            sleeping = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        long deadline = System.nanoTime() + drainMillis * 1_000_000L;
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Loaded l = loaded;
        loaded = null;
        unload(l);
        // the weights the kernels repacked are off-heap copies freed when their matrices are collected: collect
        // now, so that sleeping gives them back with the mapped files
        System.gc();
        return true;
    }

    /** Loads the model again after {@link #sleep}; returns false when it was awake. Throws when loading fails. */
    @Override
    public boolean wakeUp() {
        lifecycle.writeLock().lock();
        try {
            if (!sleeping) {
                return false;
            }
            loadFailure = null;
            load();
            if (loadFailure != null) {
                throw loadFailure;
            }
            sleeping = false;
            return true;
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** {@link #sleep(long)}, letting requests in flight run for up to 30 s. */
    @Override
    public boolean sleep() throws InterruptedException {
        return sleep(30_000);
    }

    @Override
    public boolean sleeping() {
        return sleeping;
    }
}
