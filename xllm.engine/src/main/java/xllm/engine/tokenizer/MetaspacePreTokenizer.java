package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.regex.Pattern;

/**
 * HF's Metaspace pre-tokenizer (SentencePiece style): spaces become '▁', a '▁' is prepended to the
 * start of the text (or of every piece), and pieces are cut before each '▁'. Immutable; thread-safe.
 */
final class MetaspacePreTokenizer implements PreTokenizer {
    enum Prepend { ALWAYS, FIRST, NEVER }

    private final String replacement;
    private final Prepend prepend;
    private final RegexSplit splitter;

    MetaspacePreTokenizer(String replacement, Prepend prepend, boolean split) {
        this.replacement = replacement;
        this.prepend = prepend;
        this.splitter = split
            ? new RegexSplit(Pattern.compile(Pattern.quote(replacement)), SplitBehavior.MERGED_WITH_NEXT, false)
            : null;
    }

    static MetaspacePreTokenizer fromJson(JsonNode node, TokenizerJson json) {
        String replacement = json.optionalText(node, "replacement", json.optionalText(node, "str_rep", "\u2581"));
        if (replacement.isEmpty()) {
            throw json.error("Metaspace: 'replacement' must not be empty");
        }
        return new MetaspacePreTokenizer(replacement, prependScheme(node, json), node.path("split").asBoolean(true));
    }

    /** Newer files say {@code prepend_scheme}; older ones {@code add_prefix_space}, meaning "always". */
    static Prepend prependScheme(JsonNode node, TokenizerJson json) {
        String scheme = json.optionalText(node, "prepend_scheme", null);
        if (scheme == null) {
            return node.path("add_prefix_space").asBoolean(true) ? Prepend.ALWAYS : Prepend.NEVER;
        }
        return switch (scheme) {
            case "always" -> Prepend.ALWAYS;
            case "first" -> Prepend.FIRST;
            case "never" -> Prepend.NEVER;
            default -> throw json.error("Metaspace: unknown prepend_scheme '" + scheme + "'");
        };
    }

    @Override
    public void split(Fragment piece, List<Fragment> out) {
        String text = piece.text().replace(" ", replacement);
        boolean prependHere = prepend == Prepend.ALWAYS || (prepend == Prepend.FIRST && piece.atStart());
        if (prependHere && !text.isEmpty() && !text.startsWith(replacement)) {
            text = replacement + text;
        }
        Fragment replaced = Fragment.plain(text, piece.atStart());
        if (splitter == null) {
            if (!text.isEmpty()) {
                out.add(replaced);
            }
        } else {
            splitter.split(replaced, out);
        }
    }
}
