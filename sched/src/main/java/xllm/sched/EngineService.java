package xllm.sched;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import xllm.api.ChatMessage;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.InferenceService;
import xllm.api.Logprobs;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.tokenizer.ChatTemplate;
import xllm.engine.tokenizer.GgufTokenizer;
import xllm.engine.weights.DType;
import xllm.engine.tokenizer.IncrementalDecoder;
import xllm.engine.tokenizer.Tokenizer;

/**
 * One model served by one engine instance in this process: the {@link InferenceService} the HTTP layer
 * talks to. Loads the model in the background ({@link #ready()} turns true when done), admits requests
 * (context and queue limits) and hands them to the engine loop. Thread-safe.
 */
public final class EngineService implements InferenceService, AutoCloseable {
    /** How to build the engine. */
    public record Options(Path modelDir, DType quantization, String servedModelName, int threads, long kvCacheBytes,
                          int blockSize, SchedulerConfig scheduler) {
    }

    private final Options options;
    private final ServiceMetrics metrics;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final long created = Instant.now().getEpochSecond();
    private volatile Loaded loaded;
    private volatile RuntimeException loadFailure;

    private record Loaded(Tokenizer tokenizer, CausalLM model, ComputePool pool, ModelRunner runner, EngineLoop loop,
                          int[] eosIds, ModelInfo info) {
    }

    private EngineService(Options options) {
        this.options = options;
        this.metrics = new ServiceMetrics(options.servedModelName());
    }

    /** Starts loading in the background and returns at once. */
    public static EngineService startLoading(Options options) {
        EngineService service = new EngineService(options);
        Thread.ofPlatform().name("xllm-model-loader").start(service::load);
        return service;
    }

    /** Loads on the calling thread; returns a ready service or throws. */
    public static EngineService load(Options options) {
        EngineService service = new EngineService(options);
        service.load();
        if (service.loadFailure != null) {
            throw service.loadFailure;
        }
        return service;
    }

    private void load() {
        try {
            Tokenizer tokenizer = GgufTokenizer.forModel(options.modelDir());
            if (tokenizer == null) {
                throw new IllegalArgumentException(options.modelDir() + " has no tokenizer (tokenizer.json or GGUF tokenizer metadata)");
            }
            CausalLM model = ModelLoader.load(options.modelDir(), options.quantization());
            ComputePool pool = new ComputePool(options.threads());
            ModelRunner runner = new ModelRunner(model, pool,
                    ModelRunner.blocksForBudget(model, options.kvCacheBytes(), options.blockSize()), options.blockSize());
            int[] eos = model.config().eosTokenIds();
            if (tokenizer.eosTokenId() >= 0 && !contains(eos, tokenizer.eosTokenId())) {
                eos = java.util.Arrays.copyOf(eos, eos.length + 1);
                eos[eos.length - 1] = tokenizer.eosTokenId();
            }
            EngineLoop loop = new EngineLoop("xllm-engine-0", runner, options.scheduler(), metrics, eos);
            metrics.gauges(loop::running, loop::waiting, loop::kvUsage);
            ModelInfo info = new ModelInfo(options.servedModelName(), model.config().maxPositions(),
                    model.config().vocabSize(), created);
            loop.start();
            loaded = new Loaded(tokenizer, model, pool, runner, loop, eos, info);
        } catch (RuntimeException e) {
            loadFailure = e;
            System.err.println("xllm: cannot load model: " + e.getMessage());
        }
    }

    /** Non-null once loading failed. */
    public RuntimeException loadFailure() {
        return loadFailure;
    }

    private Loaded require() {
        Loaded l = loaded;
        if (l == null) {
            throw new ServiceException(ServiceException.Kind.UNAVAILABLE,
                    loadFailure != null ? "model failed to load: " + loadFailure.getMessage() : "model is still loading", null);
        }
        return l;
    }

    @Override
    public ModelInfo model() {
        Loaded l = loaded;
        return l != null ? l.info() : new ModelInfo(options.servedModelName(), 0, 0, created);
    }

    @Override
    public boolean ready() {
        return loaded != null;
    }

    @Override
    public int[] tokenize(String text, boolean addSpecialTokens) {
        return require().tokenizer().encode(text, addSpecialTokens);
    }

    @Override
    public String detokenize(int[] ids, boolean skipSpecialTokens) {
        Loaded l = require();
        checkIds(ids, l.info().vocabSize(), "tokens");
        return l.tokenizer().decode(ids, skipSpecialTokens);
    }

    @Override
    public TextStream newTextStream() {
        IncrementalDecoder decoder = require().tokenizer().newIncrementalDecoder(true);
        return new TextStream() {
            @Override
            public String next(int tokenId) {
                return decoder.next(tokenId);
            }

            @Override
            public String flush() {
                return decoder.flush();
            }
        };
    }

    @Override
    public String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        ChatTemplate template = require().tokenizer().chatTemplate();
        if (template == null) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                    "model " + options.servedModelName() + " has no chat template; use /v1/completions", "messages");
        }
        try {
            return template.render(messages, addGenerationPrompt);
        } catch (IllegalArgumentException e) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, e.getMessage(), "messages");
        }
    }

    @Override
    public int[] eosTokenIds() {
        return require().eosIds().clone();
    }

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        Loaded l = require();
        int limit = l.info().maxModelLength();
        int prompt = request.promptLength();
        int maxTokens = request.params().maxTokens();
        checkIds(request.promptIds(), l.info().vocabSize(), "prompt");
        if (prompt + maxTokens > limit) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, "This model's maximum context length is "
                    + limit + " tokens. However, you requested " + (prompt + maxTokens) + " tokens (" + prompt
                    + " in the messages, " + maxTokens + " in the completion). Please reduce the length of the messages or completion.",
                    "max_tokens");
        }
        int blockSize = l.runner().blockSize();
        int blocksNeeded = (prompt + maxTokens + blockSize - 1) / blockSize;
        if (blocksNeeded > l.runner().allocator().totalBlocks()) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, "request needs " + (prompt + maxTokens)
                    + " tokens of KV cache but the server holds only " + l.runner().allocator().totalBlocks() * blockSize
                    + "; reduce max_tokens or start the server with a larger --kv-cache-mb", "max_tokens");
        }
        SchedulerConfig s = options.scheduler();
        if (inFlight.incrementAndGet() > s.maxNumSeqs() + s.maxWaiting()) {
            inFlight.decrementAndGet();
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the server's request queue is full ("
                    + s.maxWaiting() + " waiting); retry later", null);
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
        if (!l.loop().submit(request, counted)) {
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

    @Override
    public String metricsText() {
        return metrics.render();
    }

    public ServiceMetrics metrics() {
        return metrics;
    }

    private static void checkIds(int[] ids, int vocab, String field) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                        "token id " + id + " in " + field + " is outside the vocabulary of " + vocab, field);
            }
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int i : ids) {
            if (i == id) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        Loaded l = loaded;
        if (l != null) {
            l.loop().close();
            l.runner().close();
            l.pool().close();
            l.model().close();
        }
    }
}
