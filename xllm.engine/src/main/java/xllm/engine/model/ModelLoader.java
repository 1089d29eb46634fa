package xllm.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.ActivationPrecision;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.weights.DType;
import xllm.engine.weights.GgufFile;
import xllm.engine.weights.GgufWeightNames;
import xllm.engine.moe.Expert;
import xllm.engine.weights.Fp8BlockDequantizer;
import xllm.engine.weights.LoadedWeights;
import xllm.engine.weights.ModelFileException;
import xllm.engine.weights.QuantizingWeightSource;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.Tensor;
import xllm.engine.weights.WeightSource;

/**
 * Builds a {@link CausalLM} from a Hugging Face directory, choosing layers by {@code model_type}:
 * the dense Llama family (llama, mistral, qwen2, qwen3) shares one layer set, differing in biases and
 * q/k norms, which are taken when the checkpoint has them; Qwen3-MoE and DeepSeek-V3 have their own
 * classes. FP8 block-quantized checkpoints are dequantized to F32 at load.
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    /** The precision BF16 matrices are built for while a model is being built. */
    private static final ScopedValue<ActivationPrecision> ACTIVATIONS = ScopedValue.newInstance();

    public static CausalLM load(Path dir) {
        return load(dir, null);
    }

    /** As below, with the fastest activation precision this machine runs. */
    public static CausalLM load(Path path, DType quantization) {
        return load(path, quantization, ActivationPrecision.fastest());
    }

    /**
     * Loads a Hugging Face directory or a {@code .gguf} file; with {@code quantization} (Q8_0 or Q4_0) the
     * float 2-D weights are quantized at load. BF16 weights multiply against {@code activations}.
     */
    public static CausalLM load(Path path, DType quantization, ActivationPrecision activations) {
        ModelConfig config;
        WeightSource checkpoint;
        boolean ropeInterleaved = false;
        if (GgufFile.isGgufFile(path)) {
            GgufFile gguf = GgufFile.open(path);
            try {
                config = GgufConfig.from(gguf);
            } catch (RuntimeException e) {
                gguf.close();
                throw e;
            }
            checkpoint = new GgufWeightNames(gguf);
            // llama.cpp permutes Llama's q/k rows so that rope pairs adjacent elements
            ropeInterleaved = config.modelType().equals("llama");
        } else {
            config = ModelConfig.load(path);
            checkpoint = SafetensorsDirectory.open(path);
        }
        if (quantization != null) {
            checkpoint = new QuantizingWeightSource(checkpoint, quantization);
        }
        LoadedWeights weights = new LoadedWeights(checkpoint, fp8Blocks(config.raw()));
        boolean interleaved = ropeInterleaved;
        return ScopedValue.where(ACTIVATIONS, activations).call(() -> build(path, config, weights, interleaved));
    }

    private static CausalLM build(Path dir, ModelConfig config, LoadedWeights weights, boolean ropeInterleaved) {
        try {
            return switch (config.modelType()) {
                case "llama", "mistral", "qwen2", "qwen3" -> denseLlamaFamily(config, weights, ropeInterleaved);
                case "qwen3_moe" -> Qwen3MoeArchitecture.build(config, weights);
                case "deepseek_v3" -> DeepSeekV3Architecture.build(config, weights);
                default -> throw new ModelFileException(dir.resolve("config.json"), "unsupported model_type \""
                        + config.modelType() + "\" (supported: llama, mistral, qwen2, qwen3, qwen3_moe, deepseek_v3)");
            };
        } catch (RuntimeException e) {
            weights.close();
            if (e instanceof ModelFileException) {
                throw e;
            }
            throw new ModelFileException(dir, e.getMessage(), e);
        }
    }

    /** The FP8 block shape from {@code quantization_config.weight_block_size}; DeepSeek-V3 uses 128x128. */
    private static Fp8BlockDequantizer fp8Blocks(JsonNode raw) {
        JsonNode block = raw.path("quantization_config").path("weight_block_size");
        if (block.isArray() && block.size() == 2) {
            return new Fp8BlockDequantizer(block.get(0).asInt(), block.get(1).asInt());
        }
        return new Fp8BlockDequantizer(128, 128);
    }

    private static CausalLM denseLlamaFamily(ModelConfig c, WeightSource w, boolean ropeInterleaved) {
        int hidden = c.hiddenSize();
        WeightMatrix embedding = embedding(c, w, "model.embed_tokens.weight");
        Rope rope = c.rope().ropeFor(c.headDim());
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            layers.add(new DecoderLayer(vector(w, p + "input_layernorm.weight", hidden), gqaAttention(c, w, p, rope, ropeInterleaved),
                    vector(w, p + "post_attention_layernorm.weight", hidden),
                    denseMlp(w, p + "mlp.", c.intermediateSize(), hidden)));
        }
        return new DecoderModel(c, w, embedding, layers, vector(w, "model.norm.weight", hidden), lmHead(c, w, embedding));
    }

    /** The output projection: {@code lm_head.weight}, or the embedding when tied or absent. */
    static WeightMatrix lmHead(ModelConfig c, WeightSource w, WeightMatrix embedding) {
        return untiedOutput(c, w) ? matrix(w, "lm_head.weight", c.vocabSize(), c.hiddenSize()) : embedding;
    }

    /**
     * The token embedding {@code name}: only looked up when the model has an output projection of its own
     * ({@link WeightMatrix#forLookup}), a matrix multiplied at speed when it is also the output projection.
     */
    static WeightMatrix embedding(ModelConfig c, WeightSource w, String name) {
        return untiedOutput(c, w) ? lookupMatrix(w, name, c.vocabSize(), c.hiddenSize()) : matrix(w, name, c.vocabSize(), c.hiddenSize());
    }

    private static boolean untiedOutput(ModelConfig c, WeightSource w) {
        return w.find("lm_head.weight").isPresent() && !c.tieWordEmbeddings();
    }

    /** Llama-family attention under {@code prefix} ("model.layers.N."), with whatever biases and q/k norms it has. */
    static GqaAttention gqaAttention(ModelConfig c, WeightSource w, String prefix, Rope rope) {
        return gqaAttention(c, w, prefix, rope, false);
    }

    /** As above; {@code ropeInterleaved} for q/k rows permuted the way llama.cpp stores Llama. */
    static GqaAttention gqaAttention(ModelConfig c, WeightSource w, String prefix, Rope rope, boolean ropeInterleaved) {
        int hidden = c.hiddenSize();
        int qDim = c.numHeads() * c.headDim();
        int kvDim = c.numKvHeads() * c.headDim();
        String p = prefix + "self_attn.";
        return new GqaAttention(
                matrix(w, p + "q_proj.weight", qDim, hidden),
                matrix(w, p + "k_proj.weight", kvDim, hidden),
                matrix(w, p + "v_proj.weight", kvDim, hidden),
                matrix(w, p + "o_proj.weight", hidden, qDim),
                optionalVector(w, p + "q_proj.bias", qDim),
                optionalVector(w, p + "k_proj.bias", kvDim),
                optionalVector(w, p + "v_proj.bias", kvDim),
                optionalVector(w, p + "q_norm.weight", c.headDim()),
                optionalVector(w, p + "k_norm.weight", c.headDim()),
                c.rmsNormEps(), rope, ropeInterleaved, c.numHeads(), c.numKvHeads(), c.headDim());
    }

    /** A SwiGLU MLP whose projections are {@code prefix + "gate_proj.weight"} and so on. */
    static DenseFeedForward denseMlp(WeightSource w, String prefix, int inner, int hidden) {
        Expert e = expert(w, prefix, inner, hidden);
        return new DenseFeedForward(e.gate(), e.up(), e.down());
    }

    /** Routed experts {@code prefix + "0."} .. {@code prefix + (count-1) + "."}. */
    static List<Expert> experts(WeightSource w, String prefix, int count, int inner, int hidden) {
        List<Expert> out = new ArrayList<>(count);
        for (int e = 0; e < count; e++) {
            out.add(expert(w, prefix + e + ".", inner, hidden));
        }
        return out;
    }

    private static Expert expert(WeightSource w, String prefix, int inner, int hidden) {
        return new Expert(matrix(w, prefix + "gate_proj.weight", inner, hidden),
                matrix(w, prefix + "up_proj.weight", inner, hidden),
                matrix(w, prefix + "down_proj.weight", hidden, inner));
    }

    /** A positive integer field of {@code config.json}, required by the family being loaded. */
    static int positiveField(ModelConfig c, String field) {
        JsonNode n = c.raw().get(field);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new IllegalArgumentException(field + " must be a positive integer for " + c.modelType() + ", got " + n);
        }
        return n.asInt();
    }

    /** A 2-D weight of the expected shape, kept as mapped. */
    public static WeightMatrix matrix(WeightSource w, String name, int rows, int cols) {
        return WeightMatrix.of(w.get(name).requireShape(rows, cols), ACTIVATIONS.orElse(ActivationPrecision.F32));
    }

    /** A 2-D weight of the expected shape that is only looked up, never multiplied ({@link WeightMatrix#forLookup}). */
    static WeightMatrix lookupMatrix(WeightSource w, String name, int rows, int cols) {
        return WeightMatrix.forLookup(w.get(name).requireShape(rows, cols));
    }

    /** A 1-D weight of the expected length, decoded to floats (norms and biases are small). */
    public static float[] vector(WeightSource w, String name, int length) {
        return w.get(name).requireShape(length).toFloatArray();
    }

    public static float[] optionalVector(WeightSource w, String name, int length) {
        Optional<Tensor> t = w.find(name);
        return t.isEmpty() ? null : t.get().requireShape(length).toFloatArray();
    }
}
