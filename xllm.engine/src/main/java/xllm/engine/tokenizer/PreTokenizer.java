package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code pre_tokenizer} section of tokenizer.json: cuts normalized text into words that BPE
 * encodes independently. Implementations are immutable; thread-safe.
 */
interface PreTokenizer {
    /** Splits {@code piece} and appends the resulting non-empty pieces to {@code out}. */
    void split(Fragment piece, List<Fragment> out);

    PreTokenizer NONE = (piece, out) -> out.add(piece);

    /** The GPT-2 word regex that ByteLevel applies when {@code use_regex} is true. */
    String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    static PreTokenizer fromJson(JsonNode node, TokenizerJson json) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = json.text(node, "type", "pre_tokenizer");
        return switch (type) {
            case "Split" -> new RegexSplit(
                json.pattern(node.get("pattern"), "pre_tokenizer"),
                SplitBehavior.fromJson(json.optionalText(node, "behavior", "Isolated"), json),
                node.path("invert").asBoolean(false));
            case "ByteLevel" -> new ByteLevelPreTokenizer(
                node.path("add_prefix_space").asBoolean(false),
                node.path("use_regex").asBoolean(true));
            case "Metaspace" -> MetaspacePreTokenizer.fromJson(node, json);
            case "Digits" -> new RegexSplit(
                RustRegex.compile(node.path("individual_digits").asBoolean(false) ? "\\p{N}" : "\\p{N}+"),
                SplitBehavior.ISOLATED, false);
            case "Whitespace" -> new RegexSplit(RustRegex.compile("\\w+|[^\\w\\s]+"), SplitBehavior.REMOVED, true);
            case "WhitespaceSplit" -> new RegexSplit(RustRegex.compile("\\s+"), SplitBehavior.REMOVED, false);
            case "Punctuation" -> new RegexSplit(
                RustRegex.compile("[!-/:-@\\[-`{-~\\p{P}]"),
                SplitBehavior.fromJson(json.optionalText(node, "behavior", "Isolated"), json), false);
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonNode child : json.array(node, "pretokenizers", "pre_tokenizer")) {
                    steps.add(fromJson(child, json));
                }
                yield sequence(steps);
            }
            default -> throw json.error("unsupported pre_tokenizer type '" + type + "'");
        };
    }

    private static PreTokenizer sequence(List<PreTokenizer> steps) {
        return (piece, out) -> {
            List<Fragment> current = List.of(piece);
            for (PreTokenizer step : steps) {
                List<Fragment> next = new ArrayList<>(current.size() * 2);
                for (Fragment f : current) {
                    step.split(f, next);
                }
                current = next;
            }
            out.addAll(current);
        };
    }
}
