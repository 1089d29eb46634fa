package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import xllm.engine.weights.GgufFile;

/**
 * A Hugging Face tokenizer loaded from {@code tokenizer.json} (+ {@code tokenizer_config.json}).
 * Immutable after loading; safe to share between threads.
 *
 * <p>Encoding follows HF's pipeline: added tokens are cut out of the raw text, the rest is normalized,
 * pre-tokenized into words and BPE-encoded, then the post-processor adds special tokens.
 */
public final class Tokenizer {
    private final TextNormalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final BpeModel model;
    private final AddedVocabulary added;
    private final PostProcessor postProcessor;
    private final Detokenizer detokenizer;
    private final int bosId;
    private final int eosId;
    private final ChatTemplate chatTemplate;

    private Tokenizer(TextNormalizer normalizer, PreTokenizer preTokenizer, BpeModel model, AddedVocabulary added,
                      PostProcessor postProcessor, Detokenizer detokenizer, int bosId, int eosId,
                      ChatTemplate chatTemplate) {
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.added = added;
        this.postProcessor = postProcessor;
        this.detokenizer = detokenizer;
        this.bosId = bosId;
        this.eosId = eosId;
        this.chatTemplate = chatTemplate;
    }

    /**
     * The tokenizer that comes with a model: {@code tokenizer.json} in a Hugging Face directory, or the
     * {@code tokenizer.ggml.*} metadata of a {@code .gguf} file.
     *
     * @throws IllegalArgumentException naming the directory or file when it has no tokenizer
     */
    public static Tokenizer forModel(Path model) {
        return forModelIfPresent(model).orElseThrow(() -> new IllegalArgumentException(GgufFile.isGgufFile(model)
                ? model + " has no tokenizer: no tokenizer.ggml.model in its metadata"
                : model + " has no tokenizer: no tokenizer.json in it"));
    }

    /** {@link #forModel}, or empty for a model without one (which can still run on token ids). */
    public static Optional<Tokenizer> forModelIfPresent(Path model) {
        if (!GgufFile.isGgufFile(model)) {
            return Files.isRegularFile(model.resolve("tokenizer.json")) ? Optional.of(load(model)) : Optional.empty();
        }
        try (GgufFile gguf = GgufFile.open(model)) {
            return gguf.metadata().containsKey("tokenizer.ggml.model")
                    ? Optional.of(GgufTokenizer.fromMetadata(model.toString(), gguf.metadata())) : Optional.empty();
        }
    }

    /**
     * Loads {@code dir/tokenizer.json} and, when present, {@code dir/tokenizer_config.json} (special
     * tokens, add_bos_token, chat template; a {@code chat_template.jinja} file is used as a fallback).
     *
     * @throws IllegalArgumentException naming the file when one is missing, malformed or unsupported
     */
    public static Tokenizer load(Path dir) {
        Objects.requireNonNull(dir, "dir");
        Path file = dir.resolve("tokenizer.json");
        TokenizerJson json = TokenizerJson.read(file, false);
        TokenizerJson config = TokenizerJson.read(dir.resolve("tokenizer_config.json"), true);
        try {
            return build(json, config, dir);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            // Odd structures (a number where an object belongs, ...) must not escape as NPEs and the like.
            throw new IllegalArgumentException(file + ": unexpected structure: " + e, e);
        }
    }

    /**
     * Builds a tokenizer from documents shaped like {@code tokenizer.json} and {@code tokenizer_config.json}
     * (null when absent) that were not read from files, such as those derived from GGUF metadata.
     * {@code source} names them in errors.
     */
    public static Tokenizer fromJson(String source, JsonNode tokenizerJson, JsonNode tokenizerConfig) {
        TokenizerJson json = TokenizerJson.of(source, tokenizerJson);
        TokenizerJson config = tokenizerConfig == null ? null : TokenizerJson.of(source, tokenizerConfig);
        try {
            return build(json, config, null);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + ": unexpected tokenizer structure: " + e, e);
        }
    }

    private static Tokenizer build(TokenizerJson json, TokenizerJson config, Path dir) {
        JsonNode root = json.root();
        TextNormalizer normalizer = TextNormalizer.fromJson(root.get("normalizer"), json);
        PreTokenizer preTokenizer = PreTokenizer.fromJson(root.get("pre_tokenizer"), json);
        BpeModel model = BpeModel.fromJson(json.object(root, "model", ""), json);
        AddedVocabulary added = AddedVocabulary.fromJson(root.get("added_tokens"), json, normalizer);
        PostProcessor post = PostProcessor.fromJson(root.get("post_processor"), json);

        int size = Math.max(model.maxId(), added.maxId()) + 1;
        String[] tokens = new String[size];
        boolean[] special = new boolean[size];
        for (int id = 0; id < size; id++) {
            AddedToken t = added.byId(id);
            tokens[id] = t != null ? t.content() : model.token(id);
            special[id] = t != null && t.special();
        }
        Detokenizer detokenizer = Detokenizer.fromJson(root.get("decoder"), json, tokens, special);

        String bos = null;
        String eos = null;
        String template = null;
        if (config != null) {
            JsonNode c = config.root();
            bos = TokenizerJson.tokenContent(c.get("bos_token"));
            eos = TokenizerJson.tokenContent(c.get("eos_token"));
            template = chatTemplate(c.get("chat_template"), config);
        }
        if (template == null && dir != null) {
            template = templateFile(dir.resolve("chat_template.jinja"));
        }
        int bosId = bos == null ? -1 : idOf(bos, added, model);
        int eosId = eos == null ? -1 : idOf(eos, added, model);
        if (post == PostProcessor.NONE && config != null && bosId >= 0
            && config.root().path("add_bos_token").asBoolean(false)) {
            // Without a post_processor, tokenizer_config's add_bos_token is the only source of <bos>.
            post = new PostProcessor(new int[] {bosId}, new int[0]);
        }
        ChatTemplate chat = template == null ? null : new ChatTemplate(template, bos, eos);
        return new Tokenizer(normalizer, preTokenizer, model, added, post, detokenizer, bosId, eosId, chat);
    }

    private static int idOf(String token, AddedVocabulary added, BpeModel model) {
        int id = added.id(token);
        return id >= 0 ? id : model.id(token);
    }

    /** {@code chat_template} is a string, or a list of {name, template} of which "default" (or the first) wins. */
    private static String chatTemplate(JsonNode node, TokenizerJson config) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isArray()) {
            JsonNode chosen = null;
            for (JsonNode entry : node) {
                if (chosen == null || "default".equals(entry.path("name").asText())) {
                    chosen = entry;
                }
                if ("default".equals(entry.path("name").asText())) {
                    break;
                }
            }
            if (chosen == null) {
                return null;
            }
            JsonNode t = chosen.get("template");
            if (t != null && t.isTextual()) {
                return t.textValue();
            }
        }
        throw config.error("'chat_template' must be a string or a list of {name, template}");
    }

    private static String templateFile(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Token ids for {@code text}; {@code addSpecialTokens} applies the post-processor (e.g. leading bos). */
    public int[] encode(String text, boolean addSpecialTokens) {
        Objects.requireNonNull(text, "text");
        IdList ids = new IdList(text.length() / 3 + 4);
        if (addSpecialTokens) {
            ids.addAll(postProcessor.prefix());
        }
        List<Fragment> raw = new ArrayList<>();
        added.splitRaw(text, raw);
        List<Fragment> normalized = new ArrayList<>();
        List<Fragment> words = new ArrayList<>();
        for (Fragment f : raw) {
            if (f.isAddedToken()) {
                ids.add(f.addedId());
                continue;
            }
            normalized.clear();
            added.splitNormalized(normalizer.apply(f.text()), f.atStart(), normalized);
            for (Fragment g : normalized) {
                if (g.isAddedToken()) {
                    ids.add(g.addedId());
                    continue;
                }
                words.clear();
                preTokenizer.split(g, words);
                for (Fragment w : words) {
                    model.encode(w.text(), ids);
                }
            }
        }
        if (addSpecialTokens) {
            ids.addAll(postProcessor.suffix());
        }
        return ids.toArray();
    }

    /**
     * Text for {@code ids}, exactly as HF decodes them; ids no token has are ignored, as in HF.
     *
     * <p>One deliberate difference, shared with {@link IncrementalDecoder} so that streaming and
     * one-shot decoding always agree: when a run of {@code <0xXX>} byte-fallback tokens is not valid
     * UTF-8 as a whole, only its invalid bytes become U+FFFD (HF replaces every byte of the run), so
     * characters already streamed never have to be taken back.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        IncrementalDecoder decoder = newIncrementalDecoder(skipSpecialTokens);
        StringBuilder out = new StringBuilder(ids.length * 4);
        for (int id : ids) {
            out.append(decoder.next(id));
        }
        return out.append(decoder.flush()).toString();
    }

    public IncrementalDecoder newIncrementalDecoder(boolean skipSpecialTokens) {
        return new IncrementalDecoder(detokenizer, skipSpecialTokens);
    }

    /**
     * The bytes token {@code id} stands for inside a text (not as its first token, where a Metaspace
     * tokenizer drops a leading space), or null for an id no token has.
     */
    public byte[] tokenBytes(int id) {
        byte[] piece = detokenizer.piece(id, false);
        return piece == null ? null : piece.clone();
    }

    /** Whether {@code id} is a special token (end of sequence, a chat marker): text never contains it. */
    public boolean isSpecial(int id) {
        return detokenizer.isSpecial(id);
    }

    /** Number of ids: one past the highest id of the vocabulary and the added tokens. */
    public int vocabSize() {
        return detokenizer.size();
    }

    /** Token id of the configured eos token, or -1. */
    public int eosTokenId() {
        return eosId;
    }

    /** Token id of the configured bos token, or -1. */
    public int bosTokenId() {
        return bosId;
    }

    /** The chat template from tokenizer_config.json, or null when the model has none. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }
}
