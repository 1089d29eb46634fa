package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata, rebuilt as the
 * equivalent Hugging Face documents:
 * <ul>
 *   <li>{@code gpt2}: byte-level BPE with merges, pre-tokenized by the regex that {@code tokenizer.ggml.pre}
 *       names, as llama.cpp does;</li>
 *   <li>{@code llama}: SentencePiece BPE with scores and byte fallback, the text taken whole with spaces as
 *       '▁'. Merges are derived from the scores as Hugging Face converts such models: every split of a piece
 *       into two pieces of the vocabulary, ranked by the whole piece's score.</li>
 * </ul>
 */
public final class GgufTokenizer {
    private static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final String SPACE = "\u2581";

    private GgufTokenizer() {
    }

    /** The tokenizer of GGUF {@code metadata}; {@code source} names the file in errors. */
    public static Tokenizer fromMetadata(String source, Map<String, Object> metadata) {
        String model = text(source, metadata, "tokenizer.ggml.model");
        if (model.equals("llama")) {
            return sentencePiece(source, metadata);
        }
        if (!model.equals("gpt2")) {
            throw new IllegalArgumentException(source + ": tokenizer.ggml.model \"" + model
                    + "\" is not supported (supported: gpt2, llama); pass --prompt-ids or use the model's Hugging Face directory");
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
        return Tokenizer.fromJson(source, root, config(tokens, metadata));
    }

    /** A {@code llama} (SentencePiece) vocabulary with scores; see the class comment. */
    private static Tokenizer sentencePiece(String source, Map<String, Object> metadata) {
        List<?> tokens = list(source, metadata, "tokenizer.ggml.tokens");
        List<?> scores = list(source, metadata, "tokenizer.ggml.scores");
        List<?> types = metadata.get("tokenizer.ggml.token_type") instanceof List<?> l ? l : List.of();
        if (scores.size() != tokens.size()) {
            throw new IllegalArgumentException(source + ": tokenizer.ggml.scores has " + scores.size() + " entries for "
                    + tokens.size() + " tokens");
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode bpe = root.putObject("model");
        bpe.put("type", "BPE");
        bpe.put("byte_fallback", true);
        bpe.put("fuse_unk", true);
        tokenAt(tokens, metadata.getOrDefault("tokenizer.ggml.unknown_token_id", 0)).ifPresent(t -> bpe.put("unk_token", t));
        ObjectNode vocab = bpe.putObject("vocab");
        ArrayNode added = root.putArray("added_tokens");
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            String token = String.valueOf(tokens.get(id));
            vocab.put(token, id);
            ids.putIfAbsent(token, id);
            int type = typeOf(types, id);
            if (type == UNKNOWN || type == CONTROL || type == USER_DEFINED) {
                ObjectNode t = added.addObject();
                t.put("id", id);
                t.put("content", token);
                t.put("special", type != USER_DEFINED);
                t.put("normalized", false);
            }
        }
        ArrayNode merges = bpe.putArray("merges");
        for (String[] m : mergesByScore(tokens, scores, types, ids)) {
            merges.addArray().add(m[0]).add(m[1]);
        }
        boolean prefix = !Boolean.FALSE.equals(metadata.get("tokenizer.ggml.add_space_prefix"));
        ObjectNode meta = root.putObject("pre_tokenizer");
        meta.put("type", "Metaspace");
        meta.put("replacement", SPACE);
        meta.put("prepend_scheme", prefix ? "first" : "never");
        meta.put("split", false);
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode steps = decoder.putArray("decoders");
        ObjectNode replace = steps.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", SPACE);
        replace.put("content", " ");
        steps.addObject().put("type", "ByteFallback");
        steps.addObject().put("type", "Fuse");
        if (prefix) {
            ObjectNode strip = steps.addObject();
            strip.put("type", "Strip");
            strip.put("content", " ");
            strip.put("start", 1);
            strip.put("stop", 0);
        }
        return Tokenizer.fromJson(source, root, config(tokens, metadata));
    }

    /**
     * Every split of a normal piece into two pieces of the vocabulary, the splits of one piece ordered by the
     * ids of their parts, then all of them by the whole piece's score, highest first (a stable sort).
     */
    private static List<String[]> mergesByScore(List<?> tokens, List<?> scores, List<?> types, Map<String, Integer> ids) {
        record Merge(String left, String right, float score, int leftId, int rightId) {
        }
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (typeOf(types, id) != NORMAL) {
                continue;
            }
            String piece = String.valueOf(tokens.get(id));
            float score = scores.get(id) instanceof Number n ? n.floatValue() : 0f;
            List<Merge> local = new ArrayList<>();
            for (int cut = piece.offsetByCodePoints(0, 1); cut < piece.length(); cut = piece.offsetByCodePoints(cut, 1)) {
                Integer left = ids.get(piece.substring(0, cut));
                Integer right = ids.get(piece.substring(cut));
                if (left != null && right != null) {
                    local.add(new Merge(piece.substring(0, cut), piece.substring(cut), score, left, right));
                }
            }
            local.sort(Comparator.comparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
            merges.addAll(local);
        }
        merges.sort((a, b) -> Float.compare(b.score(), a.score()));
        return merges.stream().map(m -> new String[] {m.left(), m.right()}).toList();
    }

    private static int typeOf(List<?> types, int id) {
        return id < types.size() && types.get(id) instanceof Number n ? n.intValue() : NORMAL;
    }

    /** tokenizer_config.json's part: bos and eos tokens, whether to add bos, the chat template. */
    private static ObjectNode config(List<?> tokens, Map<String, Object> metadata) {
        ObjectNode config = new ObjectMapper().createObjectNode();
        tokenAt(tokens, metadata.get("tokenizer.ggml.bos_token_id")).ifPresent(t -> config.put("bos_token", t));
        tokenAt(tokens, metadata.get("tokenizer.ggml.eos_token_id")).ifPresent(t -> config.put("eos_token", t));
        config.put("add_bos_token", Boolean.TRUE.equals(metadata.get("tokenizer.ggml.add_bos_token")));
        if (metadata.get("tokenizer.chat_template") instanceof String template) {
            config.put("chat_template", template);
        }
        return config;
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
