package xllm.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import xllm.engine.weights.GgufFile;
import xllm.engine.weights.ModelFileException;

/**
 * The parts of a Hugging Face {@code config.json} the engine needs, accepting both spellings found in
 * published checkpoints ({@code rope_theta}/{@code rope_scaling}/{@code torch_dtype} and
 * {@code rope_parameters}/{@code dtype}). {@code raw} keeps the whole file for family-specific fields.
 */
public record ModelConfig(
        String modelType,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        float rmsNormEps,
        RopeScaling rope,
        int maxPositions,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int[] eosTokenIds,
        JsonNode raw) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The config of a Hugging Face directory or a {@code .gguf} file, read from its metadata without
     * loading any weights: for those who only need the model's shape (a router, a tool).
     */
    public static ModelConfig forModel(Path model) {
        if (!GgufFile.isGgufFile(model)) {
            return load(model);
        }
        try (GgufFile gguf = GgufFile.open(model)) {
            return GgufConfig.from(gguf);
        }
    }

    public static ModelConfig load(Path dir) {
        Path file = dir.resolve("config.json");
        JsonNode root = readJson(file);
        JsonNode generation = Files.isRegularFile(dir.resolve("generation_config.json"))
                ? readJson(dir.resolve("generation_config.json")) : JSON.createObjectNode();
        try {
            return parse(root, generation);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(file, e.getMessage());
        }
    }

    static JsonNode readJson(Path file) {
        if (!Files.exists(file) || Files.isDirectory(file)) {
            throw new ModelFileException(file, "not found (is this a Hugging Face model directory?)");
        }
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (node == null || !node.isObject()) {
                throw new ModelFileException(file, "is not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new ModelFileException(file, "is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    static ModelConfig parse(JsonNode c, JsonNode generation) {
        String type = text(c, "model_type", "");
        int hidden = positive(c, "hidden_size");
        int heads = positive(c, "num_attention_heads");
        int kvHeads = c.hasNonNull("num_key_value_heads") ? positive(c, "num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = c.hasNonNull("head_dim") ? positive(c, "head_dim") : hidden / heads;
        JsonNode ropeNode = c.hasNonNull("rope_parameters") ? c.get("rope_parameters") : c.get("rope_scaling");
        double theta = c.hasNonNull("rope_theta") ? c.get("rope_theta").asDouble()
                : ropeNode != null && ropeNode.hasNonNull("rope_theta") ? ropeNode.get("rope_theta").asDouble() : 10000.0;
        RopeScaling rope = RopeScaling.plain(theta);
        if (ropeNode != null && ropeNode.isObject()) {
            String ropeType = text(ropeNode, "rope_type", text(ropeNode, "type", "default"));
            rope = new RopeScaling(ropeType, theta,
                    ropeNode.path("factor").asDouble(1),
                    ropeNode.path("low_freq_factor").asDouble(1),
                    ropeNode.path("high_freq_factor").asDouble(4),
                    ropeNode.path("original_max_position_embeddings").asInt(0),
                    ropeNode.path("beta_fast").asDouble(0),
                    ropeNode.path("beta_slow").asDouble(0),
                    ropeNode.path("mscale").asDouble(0),
                    ropeNode.path("mscale_all_dim").asDouble(0));
            rope.inverseFrequencies(2); // rejects unsupported types now, not at the first request
        }
        int[] eos = ids(generation.get("eos_token_id"));
        if (eos.length == 0) {
            eos = ids(c.get("eos_token_id"));
        }
        int bos = generation.hasNonNull("bos_token_id") ? generation.get("bos_token_id").asInt()
                : c.path("bos_token_id").asInt(-1);
        return new ModelConfig(type, hidden,
                c.hasNonNull("intermediate_size") ? positive(c, "intermediate_size") : 4 * hidden,
                positive(c, "num_hidden_layers"), heads, kvHeads, headDim,
                positive(c, "vocab_size"),
                (float) c.path("rms_norm_eps").asDouble(1e-6),
                rope,
                c.path("max_position_embeddings").asInt(4096),
                c.path("tie_word_embeddings").asBoolean(false),
                bos, eos, c);
    }

    private static int[] ids(JsonNode node) {
        if (node == null || node.isNull()) {
            return new int[0];
        }
        List<Integer> out = new ArrayList<>();
        if (node.isArray()) {
            node.forEach(n -> out.add(n.asInt()));
        } else {
            out.add(node.asInt());
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static String text(JsonNode c, String field, String fallback) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? fallback : n.asText();
    }

    private static int positive(JsonNode c, String field) {
        JsonNode n = c.get(field);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new IllegalArgumentException(field + " must be a positive integer, got " + n);
        }
        return n.asInt();
    }

    /**
     * The routed experts of a mixture-of-experts layer, under whichever name the family uses ({@code n_routed_experts},
     * {@code num_experts}, {@code num_local_experts}); 0 for a dense model.
     */
    public int routedExperts() {
        return raw.path("n_routed_experts").asInt(raw.path("num_experts").asInt(raw.path("num_local_experts").asInt(0)));
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }
}
