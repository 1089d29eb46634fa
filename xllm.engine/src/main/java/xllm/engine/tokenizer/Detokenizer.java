package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code decoder} section of tokenizer.json, compiled for streaming: every token's bytes are
 * precomputed once, so decoding a token costs O(its length). What cannot be per token (stripping the
 * start of the whole text after Fuse, Metaspace's first token, joining with spaces when there is no
 * decoder) is described here and applied by {@link IncrementalDecoder}. Immutable; thread-safe.
 */
final class Detokenizer {
    private sealed interface Step {
    }

    private record Replace(Pattern pattern, String content) implements Step {
    }

    private record ByteFallback() implements Step {
    }

    private record Fuse() implements Step {
    }

    private record Strip(String content, int start, int stop) implements Step {
    }

    private record Metaspace(String replacement, boolean dropOnFirstToken) implements Step {
    }

    private record ByteLevel() implements Step {
    }

    private final List<Step> steps;
    private final byte[][] pieces;
    private final boolean[] byteTokens;
    private final boolean[] special;
    private final String[] tokens;
    private final boolean firstTokenDiffers;
    private final boolean byteFallback;
    private final boolean joinWithSpaces;
    private final char stripChar;
    private final int stripStart;
    private final int stripStop;

    private Detokenizer(List<Step> steps, boolean joinWithSpaces, String[] tokens, boolean[] special) {
        this.steps = steps;
        this.joinWithSpaces = joinWithSpaces;
        this.tokens = tokens;
        this.special = special;
        boolean first = false;
        boolean fallback = false;
        Strip streamStrip = null;
        for (Step step : steps) {
            switch (step) {
                case Metaspace m -> first |= m.dropOnFirstToken();
                case ByteFallback b -> fallback = true;
                case Strip s when isStreamStrip(s) -> streamStrip = s;
                default -> { }
            }
        }
        this.firstTokenDiffers = first;
        this.byteFallback = fallback;
        this.stripChar = streamStrip == null ? 0 : streamStrip.content().charAt(0);
        this.stripStart = streamStrip == null ? 0 : streamStrip.start();
        this.stripStop = streamStrip == null ? 0 : streamStrip.stop();
        this.pieces = new byte[tokens.length][];
        this.byteTokens = new boolean[tokens.length];
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                pieces[id] = bytes(tokens[id], false, id);
            }
        }
    }

    /**
     * @param tokens  token text by id (null where no token has that id)
     * @param special true for ids that decoding may skip as special tokens
     */
    static Detokenizer fromJson(JsonNode node, TokenizerJson json, String[] tokens, boolean[] special) {
        List<Step> steps = new ArrayList<>();
        if (node == null || node.isNull()) {
            return new Detokenizer(steps, true, tokens, special);
        }
        collect(node, json, steps);
        return new Detokenizer(List.copyOf(steps), false, tokens, special);
    }

    private static void collect(JsonNode node, TokenizerJson json, List<Step> steps) {
        String type = json.text(node, "type", "decoder");
        switch (type) {
            case "Sequence" -> {
                for (JsonNode child : json.array(node, "decoders", "decoder")) {
                    collect(child, json, steps);
                }
            }
            case "Replace" -> steps.add(new Replace(json.pattern(node.get("pattern"), "decoder"),
                Matcher.quoteReplacement(json.text(node, "content", "decoder"))));
            case "ByteFallback" -> steps.add(new ByteFallback());
            case "Fuse" -> steps.add(new Fuse());
            case "Strip" -> {
                String content = json.text(node, "content", "decoder");
                if (content.length() != 1) {
                    throw json.error("Strip decoder: 'content' must be a single character");
                }
                steps.add(new Strip(content, count(node, "start", json), count(node, "stop", json)));
            }
            case "Metaspace" -> steps.add(new Metaspace(
                json.optionalText(node, "replacement", "\u2581"),
                MetaspacePreTokenizer.prependScheme(node, json) != MetaspacePreTokenizer.Prepend.NEVER));
            case "ByteLevel" -> steps.add(new ByteLevel());
            default -> throw json.error("unsupported decoder type '" + type + "'");
        }
    }

    private static int count(JsonNode node, String field, TokenizerJson json) {
        JsonNode v = node.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return 0;
        }
        if (!v.canConvertToInt() || v.intValue() < 0 || v.intValue() > 1024) {
            throw json.error("Strip decoder: '" + field + "' must be a small non-negative integer");
        }
        return v.intValue();
    }

    /** Runs the per-token part of the decoder chain on one token's text. */
    private byte[] bytes(String token, boolean firstToken, int id) {
        String s = token;
        byte[] out = null;
        for (Step step : steps) {
            if (out != null) {
                break;
            }
            switch (step) {
                case Replace r -> s = r.pattern().matcher(s).replaceAll(r.content());
                case ByteFallback b -> {
                    int value = byteValue(s);
                    if (value >= 0) {
                        out = new byte[] {(byte) value};
                        if (id >= 0) {
                            byteTokens[id] = true;
                        }
                    }
                }
                case Metaspace m -> s = s.replace(m.replacement(), firstToken && m.dropOnFirstToken() ? "" : " ");
                case Strip st when !isStreamStrip(st) -> s = strip(s, st);
                case ByteLevel b -> {
                    byte[] mapped = ByteAlphabet.decode(s);
                    out = mapped != null ? mapped : s.getBytes(StandardCharsets.UTF_8);
                }
                default -> { }
            }
        }
        return out != null ? out : s.getBytes(StandardCharsets.UTF_8);
    }

    private boolean isStreamStrip(Strip st) {
        boolean fused = false;
        for (Step step : steps) {
            if (step == st) {
                return fused;
            }
            fused |= step instanceof Fuse || step instanceof ByteLevel;
        }
        return false;
    }

    private static String strip(String s, Strip st) {
        char c = st.content().charAt(0);
        int from = 0;
        while (from < st.start() && from < s.length() && s.charAt(from) == c) {
            from++;
        }
        int to = s.length();
        for (int i = 0; i < st.stop() && to > from && s.charAt(to - 1) == c; i++) {
            to--;
        }
        return s.substring(from, to);
    }

    /** The byte a {@code <0xXX>} token stands for, or -1. */
    private static int byteValue(String s) {
        if (s.length() != 6 || !s.startsWith("<0x") || s.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(s.charAt(3), 16);
        int lo = Character.digit(s.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** Bytes of token {@code id}, or null for an id no token has (skipped, as HF does). */
    byte[] piece(int id, boolean firstToken) {
        if (id < 0 || id >= pieces.length) {
            return null;
        }
        if (firstToken && firstTokenDiffers && tokens[id] != null) {
            return bytes(tokens[id], true, -1);
        }
        return pieces[id];
    }

    boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** A {@code <0xXX>} token: its byte joins a run that HF's ByteFallback decodes as a whole. */
    boolean isByteToken(int id) {
        return byteTokens[id];
    }

    /** With ByteFallback, an invalid byte run yields one U+FFFD per byte and ends at any other token. */
    boolean byteFallback() {
        return byteFallback;
    }

    /** No decoder at all: HF joins tokens with single spaces. */
    boolean joinWithSpaces() {
        return joinWithSpaces;
    }

    char stripChar() {
        return stripChar;
    }

    /** How many {@link #stripChar()} to remove from the start of the whole decoded text. */
    int stripStart() {
        return stripStart;
    }

    /** How many {@link #stripChar()} to remove from the end of the whole decoded text. */
    int stripStop() {
        return stripStop;
    }

    int size() {
        return pieces.length;
    }
}
