package xllm.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.kernel.ActivationPrecision;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;
import xllm.engine.tokenizer.Tokenizer;
import xllm.engine.weights.DType;
import xllm.engine.weights.GgufFile;
import xllm.kv.KvDtype;
import xllm.sched.KvTiers;

/** A model directory loaded for a command: weights, runner with its KV arena, and the tokenizer if present. */
final class LoadedModel implements AutoCloseable {
    static final String DEFAULT_MODEL = "pycoder-22m";
    static final int BLOCK_SIZE = 16;

    final Path dir;
    final CausalLM model;
    final ComputePool pool;
    final ModelRunner runner;
    /** Null when the model has none: it then runs on {@code --prompt-ids}. */
    final Tokenizer tokenizer;
    private Speculation speculation;

    private LoadedModel(Path dir, CausalLM model, ComputePool pool, ModelRunner runner, Tokenizer tokenizer) {
        this.dir = dir;
        this.model = model;
        this.pool = pool;
        this.runner = runner;
        this.tokenizer = tokenizer;
    }

    /** {@code kvDtype} null: the most compact the model supports here. */
    static LoadedModel open(Path dir, int threads, long kvCacheBytes, DType quantization, ActivationPrecision activations, KvDtype kvDtype) {
        Tokenizer tokenizer = Tokenizer.forModelIfPresent(dir).orElse(null);
        CausalLM model = ModelLoader.load(dir, quantization, activations);
        KvDtype kv = kvDtype != null ? kvDtype : ModelRunner.compactKv(model, BLOCK_SIZE);
        ComputePool pool = new ComputePool(threads);
        try {
            ModelRunner runner = new ModelRunner(model, pool, ModelRunner.blocksForBudget(model, kvCacheBytes, BLOCK_SIZE, kv), BLOCK_SIZE, kv);
            return new LoadedModel(dir, model, pool, runner, tokenizer);
        } catch (IllegalArgumentException e) {
            // a KV dtype the model cannot use here; the message names it
            pool.close();
            model.close();
            throw new UsageException(e.getMessage());
        }
    }

    /** {@code --kv-cache-dtype f16|f32}, or null for the most compact the model supports here. */
    static KvDtype kvDtype(Args args) {
        String d = args.string("--kv-cache-dtype", null);
        if (d == null) {
            return null;
        }
        try {
            return KvDtype.parse(d);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + e.getMessage());
        }
    }

    /** {@code --quantization q8_0|q4_0}, or null to keep the stored format. */
    static DType quantization(Args args) {
        String q = args.string("--quantization", null);
        if (q == null) {
            return null;
        }
        return switch (q.toLowerCase(java.util.Locale.ROOT)) {
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new UsageException("--quantization must be q8_0 or q4_0, got \"" + q + "\"");
        };
    }

    /** {@code --activations f32|bf16} (what BF16 weights multiply against), by default the fastest this CPU runs. */
    static ActivationPrecision activations(Args args) {
        String a = args.string("--activations", null);
        if (a == null) {
            return ActivationPrecision.fastest();
        }
        try {
            return ActivationPrecision.parse(a);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + e.getMessage());
        }
    }

    /** {@code --model DIR|FILE.gguf}, or the bundled default model under the installation directory. */
    static Path resolveDirectory(Args args) {
        String given = args.string("--model", null);
        Path dir;
        if (given != null) {
            dir = Path.of(given);
        } else {
            dir = Path.of(System.getProperty("xllm.home", ".")).resolve("models").resolve(DEFAULT_MODEL);
        }
        if (!Files.isDirectory(dir) && !GgufFile.isGgufFile(dir)) {
            throw new UsageException("model " + dir + " is neither a model directory nor a .gguf file");
        }
        return dir;
    }

    /**
     * {@code --speculative-config JSON} (vLLM's spelling), or null when absent; checked against the target model
     * in {@code modelDir} as far as the models' configs tell.
     */
    static SpeculativeConfig speculativeConfig(Args args, Path modelDir) {
        String json = args.string("--speculative-config", null);
        if (json == null) {
            return null;
        }
        try {
            SpeculativeConfig config = SpeculativeConfig.parse(json);
            if (config.draftModel() != null && !Files.isDirectory(config.draftModel()) && !GgufFile.isGgufFile(config.draftModel())) {
                throw new UsageException("--speculative-config: draft model " + config.draftModel() + " is neither a model directory nor a .gguf file");
            }
            Speculation.check(config, modelDir);
            return config;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--speculative-config: " + e.getMessage());
        }
    }

    /**
     * The speculation {@code --speculative-config} asks for on this model (closed with it), or null when absent;
     * a draft model gets a KV cache of {@code draftKvBytes}.
     */
    Speculation speculation(Args args, long draftKvBytes) {
        SpeculativeConfig config = speculativeConfig(args, dir);
        if (config == null) {
            return null;
        }
        try {
            speculation = Speculation.create(config, runner, pool, draftKvBytes);
            return speculation;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--speculative-config: " + e.getMessage());
        }
    }

    /** End-of-sequence ids the tokenizer adds to the model's own. */
    int[] tokenizerEos() {
        return tokenizer == null || tokenizer.eosTokenId() < 0 ? new int[0] : new int[] {tokenizer.eosTokenId()};
    }

    @Override
    public void close() {
        if (speculation != null) {
            speculation.close();
        }
        runner.close();
        pool.close();
        model.close();
    }

    /** {@code --kv-idle-release-s}, {@code --kv-offload-dir} and {@code --kv-offload-gb}. */
    static KvTiers kvTiers(Args args) {
        String dir = args.string("--kv-offload-dir", null);
        if (dir == null && args.has("--kv-offload-gb")) {
            throw new UsageException("--kv-offload-gb needs --kv-offload-dir DIR");
        }
        try {
            return new KvTiers(Math.round(args.decimal("--kv-idle-release-s", 60) * 1000), dir == null ? null : Path.of(dir),
                    Math.round(args.decimal("--kv-offload-gb", 16) * (1L << 30)));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
