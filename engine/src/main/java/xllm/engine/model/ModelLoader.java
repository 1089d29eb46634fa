package xllm.engine.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.weights.DType;
import xllm.engine.weights.GgufFile;
import xllm.engine.weights.GgufWeightNames;
import xllm.engine.weights.ModelFileException;
import xllm.engine.weights.QuantizingWeightSource;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.Tensor;
import xllm.engine.weights.WeightSource;

/**
 * Builds a {@link CausalLM} from a Hugging Face directory, choosing layers by {@code model_type}:
 * the dense Llama family (llama, mistral, qwen2, qwen3) shares one layer set, differing in biases and
 * q/k norms, which are taken when the checkpoint has them.
 */
public final class ModelLoader {
    private ModelLoader() {
    }

    public static CausalLM load(Path dir) {
        return load(dir, null);
    }

    /**
     * Loads a Hugging Face directory or a {@code .gguf} file; with {@code quantization} (Q8_0 or Q4_0) the
     * float 2-D weights are quantized at load.
     */
    public static CausalLM load(Path path, DType quantization) {
        ModelConfig config;
        WeightSource weights;
        boolean ropeInterleaved = false;
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".gguf")) {
            GgufFile gguf = GgufFile.open(path);
            try {
                config = GgufConfig.from(gguf);
            } catch (RuntimeException e) {
                gguf.close();
                throw e;
            }
            weights = new GgufWeightNames(gguf);
            // llama.cpp permutes Llama's q/k rows so that rope pairs adjacent elements
            ropeInterleaved = config.modelType().equals("llama");
        } else {
            config = ModelConfig.load(path);
            weights = SafetensorsDirectory.open(path);
        }
        if (quantization != null) {
            weights = new QuantizingWeightSource(weights, quantization);
        }
        return build(path, config, weights, ropeInterleaved);
    }

    private static CausalLM build(Path dir, ModelConfig config, WeightSource weights, boolean ropeInterleaved) {
        try {
            return switch (config.modelType()) {
                case "llama", "mistral", "qwen2", "qwen3" -> denseLlamaFamily(config, weights, ropeInterleaved);
                default -> throw new ModelFileException(dir.resolve("config.json"),
                        "unsupported model_type \"" + config.modelType() + "\" (supported: llama, mistral, qwen2, qwen3)");
            };
        } catch (RuntimeException e) {
            weights.close();
            if (e instanceof ModelFileException) {
                throw e;
            }
            throw new ModelFileException(dir, e.getMessage(), e);
        }
    }

    private static CausalLM denseLlamaFamily(ModelConfig c, WeightSource w, boolean ropeInterleaved) {
        int hidden = c.hiddenSize();
        int qDim = c.numHeads() * c.headDim();
        int kvDim = c.numKvHeads() * c.headDim();
        WeightMatrix embedding = matrix(w, "model.embed_tokens.weight", c.vocabSize(), hidden);
        WeightMatrix lmHead = w.find("lm_head.weight").isPresent() && !c.tieWordEmbeddings()
                ? matrix(w, "lm_head.weight", c.vocabSize(), hidden) : embedding;
        Rope rope = new Rope(c.rope(), c.headDim());
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            GqaAttention attention = new GqaAttention(
                    matrix(w, p + "self_attn.q_proj.weight", qDim, hidden),
                    matrix(w, p + "self_attn.k_proj.weight", kvDim, hidden),
                    matrix(w, p + "self_attn.v_proj.weight", kvDim, hidden),
                    matrix(w, p + "self_attn.o_proj.weight", hidden, qDim),
                    optionalVector(w, p + "self_attn.q_proj.bias", qDim),
                    optionalVector(w, p + "self_attn.k_proj.bias", kvDim),
                    optionalVector(w, p + "self_attn.v_proj.bias", kvDim),
                    optionalVector(w, p + "self_attn.q_norm.weight", c.headDim()),
                    optionalVector(w, p + "self_attn.k_norm.weight", c.headDim()),
                    c.rmsNormEps(), rope, ropeInterleaved, c.numHeads(), c.numKvHeads(), c.headDim());
            DenseFeedForward mlp = new DenseFeedForward(
                    matrix(w, p + "mlp.gate_proj.weight", c.intermediateSize(), hidden),
                    matrix(w, p + "mlp.up_proj.weight", c.intermediateSize(), hidden),
                    matrix(w, p + "mlp.down_proj.weight", hidden, c.intermediateSize()));
            layers.add(new DecoderLayer(vector(w, p + "input_layernorm.weight", hidden), attention,
                    vector(w, p + "post_attention_layernorm.weight", hidden), mlp));
        }
        return new DecoderModel(c, w, embedding, layers, vector(w, "model.norm.weight", hidden), lmHead);
    }

    /** A 2-D weight of the expected shape, kept as mapped. */
    public static WeightMatrix matrix(WeightSource w, String name, int rows, int cols) {
        return WeightMatrix.of(w.get(name).requireShape(rows, cols));
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
