package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code normalizer} section of tokenizer.json: a text-to-text step applied to every span between
 * added tokens before pre-tokenization. Implementations are immutable; thread-safe.
 */
@FunctionalInterface
interface TextNormalizer {
    TextNormalizer IDENTITY = s -> s;

    String apply(String text);

    /** Builds the normalizer described by {@code node} (null or JSON null: identity). */
    static TextNormalizer fromJson(JsonNode node, TokenizerJson json) {
        if (node == null || node.isNull()) {
            return IDENTITY;
        }
        String type = json.text(node, "type", "normalizer");
        return switch (type) {
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "Prepend" -> {
                String prefix = json.text(node, "prepend", "normalizer");
                // HF only prepends to non-empty text.
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                Pattern pattern = json.pattern(node.get("pattern"), "normalizer");
                String content = Matcher.quoteReplacement(json.text(node, "content", "normalizer"));
                yield s -> pattern.matcher(s).replaceAll(content);
            }
            case "Strip" -> {
                boolean left = node.path("strip_left").asBoolean(true);
                boolean right = node.path("strip_right").asBoolean(true);
                yield s -> WhiteSpace.strip(s, left, right);
            }
            case "Precompiled" -> {
                // SentencePiece's compiled charsmap; an empty one (common in conversions) is the identity.
                JsonNode map = node.get("precompiled_charsmap");
                if (map != null && !map.isNull() && !map.asText().isEmpty()) {
                    throw json.error("unsupported normalizer 'Precompiled' with a non-empty charsmap");
                }
                yield IDENTITY;
            }
            case "Sequence" -> {
                List<TextNormalizer> steps = new ArrayList<>();
                for (JsonNode child : json.array(node, "normalizers", "normalizer")) {
                    steps.add(fromJson(child, json));
                }
                yield s -> {
                    for (TextNormalizer step : steps) {
                        s = step.apply(s);
                    }
                    return s;
                };
            }
            default -> throw json.error("unsupported normalizer type '" + type + "'");
        };
    }
}
