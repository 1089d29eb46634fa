package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata, rebuilt as the
 * equivalent Hugging Face documents: gpt2-style byte-level BPE with merges, pre-tokenized by the regex
 * that {@code tokenizer.ggml.pre} names, as llama.cpp does.
 */
public final class GgufTokenizer {
    private static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;

    private GgufTokenizer() {
    }

    /**
     * The tokenizer that comes with a model: {@code tokenizer.json} in a Hugging Face directory, or the
     * metadata of a {@code .gguf} file; null when the model has none.
     */
    public static Tokenizer forModel(java.nio.file.Path model) {
        if (java.nio.file.Files.isDirectory(model)) {
            return java.nio.file.Files.isRegularFile(model.resolve("tokenizer.json")) ? Tokenizer.load(model) : null;
        }
        try (xllm.engine.weights.GgufFile gguf = xllm.engine.weights.GgufFile.open(model)) {
            return gguf.metadata().containsKey("tokenizer.ggml.model")
                    ? fromMetadata(model.toString(), gguf.metadata()) : null;
        }
    }

    /** The tokenizer of GGUF {@code metadata}; {@code source} names the file in errors. */
    public static Tokenizer fromMetadata(String source, Map<String, Object> metadata) {
        String model = text(source, metadata, "tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new IllegalArgumentException(source + ": tokenizer.ggml.model \"" + model
                    + "\" is not supported (supported: gpt2); pass --prompt-ids or use the model's Hugging Face directory");
        }
        List<?> tokens = list(source, metadata, "tokenizer.ggml.tokens");
        List<?> merges = list(source, metadata, "tokenizer.ggml.merges");
        List<?> types = metadata.get("tokenizer.ggml.token_type") instanceof List<?> l ? l : List.of();
        String pre = metadata.get("tokenizer.ggml.pre") instanceof String s ? s : "default";

        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode bpe = root.putObject("model");
        bpe.put("type", "BPE");
        ObjectNode vocab = bpe.putObject("vocab");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < tokens.size(); id++) {
            String token = String.valueOf(tokens.get(id));
            vocab.put(token, id);
            int type = id < types.size() && types.get(id) instanceof Number n ? n.intValue() : 1;
            if (type == CONTROL || type == USER_DEFINED) {
                ObjectNode t = added.addObject();
                t.put("id", id);
                t.put("content", token);
                t.put("special", type == CONTROL);
                t.put("normalized", false);
            }
        }
        ArrayNode mergeArray = bpe.putArray("merges");
        merges.forEach(m -> mergeArray.add(String.valueOf(m)));
        ObjectNode byteLevel = json.createObjectNode();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        String split = switch (pre) {
            case "qwen2", "deepseek-r1-qwen" -> QWEN2_SPLIT;
            case "llama3", "llama-bpe", "smaug-bpe" -> LLAMA3_SPLIT;
            default -> null;
        };
        if (split == null) {
            byteLevel.put("use_regex", true);
            root.set("pre_tokenizer", byteLevel);
        } else {
            byteLevel.put("use_regex", false);
            ObjectNode seq = root.putObject("pre_tokenizer");
            seq.put("type", "Sequence");
            ObjectNode splitNode = seq.putArray("pretokenizers").addObject();
            splitNode.put("type", "Split");
            splitNode.putObject("pattern").put("Regex", split);
            splitNode.put("behavior", "Isolated");
            splitNode.put("invert", false);
            ((ArrayNode) seq.get("pretokenizers")).add(byteLevel);
        }
        if (pre.equals("qwen2")) {
            root.putObject("normalizer").put("type", "NFC");
        }
        root.putObject("decoder").put("type", "ByteLevel");

        ObjectNode config = json.createObjectNode();
        tokenAt(tokens, metadata.get("tokenizer.ggml.bos_token_id")).ifPresent(t -> config.put("bos_token", t));
        tokenAt(tokens, metadata.get("tokenizer.ggml.eos_token_id")).ifPresent(t -> config.put("eos_token", t));
        config.put("add_bos_token", Boolean.TRUE.equals(metadata.get("tokenizer.ggml.add_bos_token")));
        if (metadata.get("tokenizer.chat_template") instanceof String template) {
            config.put("chat_template", template);
        }
        return Tokenizer.fromJson(source, root, config);
    }

    private static java.util.Optional<String> tokenAt(List<?> tokens, Object id) {
        if (id instanceof Number n && n.longValue() >= 0 && n.longValue() < tokens.size()) {
            return java.util.Optional.of(String.valueOf(tokens.get(n.intValue())));
        }
        return java.util.Optional.empty();
    }

    private static String text(String source, Map<String, Object> metadata, String key) {
        if (!(metadata.get(key) instanceof String s)) {
            throw new IllegalArgumentException(source + ": metadata " + key + " is missing");
        }
        return s;
    }

    private static List<?> list(String source, Map<String, Object> metadata, String key) {
        if (!(metadata.get(key) instanceof List<?> l)) {
            throw new IllegalArgumentException(source + ": metadata " + key + " is missing or not an array");
        }
        return l;
    }
}
