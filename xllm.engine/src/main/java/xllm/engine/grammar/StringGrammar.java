package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Grammars for JSON strings under {@code minLength}, {@code maxLength}, {@code pattern} and {@code format}.
 * Lengths count characters (code points), so an escape such as {@code \n} counts once; a pattern or format is
 * built over the decoded characters, then each character is written as JSON writes it.
 */
final class StringGrammar {
    private final JsonText json;
    private final Map<String, GbnfExpr> byConstraint = new HashMap<>();

    StringGrammar(JsonText json) {
        this.json = json;
    }

    /** The strings {@code schema}'s string keywords allow. */
    GbnfExpr strings(JsonNode schema) {
        long min = schema.has("minLength") ? SchemaKeywords.count("minLength", schema.get("minLength")) : 0;
        long max = schema.has("maxLength") ? SchemaKeywords.count("maxLength", schema.get("maxLength")) : -1;
        if (max >= 0 && max < min) {
            return GbnfExpr.NEVER;
        }
        String pattern = schema.path("pattern").textValue();
        String format = schema.path("format").textValue();
        if (pattern == null && format == null) {
            GbnfExpr chars = GbnfExpr.repeat(json.character(), (int) min, (int) max);
            return GbnfExpr.seq(GbnfExpr.lit("\""), chars, GbnfExpr.lit("\""));
        }
        if (pattern != null && format != null) {
            throw new UnsupportedFeature("pattern", "a string schema with both 'pattern' and 'format' is not supported");
        }
        String key = (pattern != null ? "pattern " + pattern : "format " + format) + " " + min + " " + max;
        GbnfExpr known = byConstraint.get(key);
        if (known != null) {
            return known;
        }
        GbnfExpr chars = pattern != null ? RegexGrammar.search(pattern) : StringFormats.strings(format);
        GbnfExpr sized = withLength(chars, min, max);
        if (sized == null) {
            String keyword = min > 0 ? "minLength" : "maxLength";
            throw new UnsupportedFeature(keyword, "'" + keyword + "' together with '" + (pattern != null ? "pattern" : "format")
                    + "' is only supported when the length limits a single repetition of one-character items");
        }
        GbnfExpr body = GbnfExpr.seq(GbnfExpr.lit("\""), sized.mapChars(json::encodedShared), GbnfExpr.lit("\""));
        GbnfExpr result = body;
        if (!body.isNever()) {
            String name = json.rules.fresh(pattern != null ? "pattern" : format);
            json.rules.define(name, body);
            result = GbnfExpr.ref(name);
        }
        byConstraint.put(key, result);
        return result;
    }

    /**
     * The sentences of {@code chars} with {@code min} to {@code max} (-1: any) characters, or null when that
     * cannot be said by adjusting one repetition's counts.
     */
    static GbnfExpr withLength(GbnfExpr chars, long min, long max) {
        long lo = chars.minLength();
        long hi = chars.maxLength();
        if (lo >= min && (max < 0 || hi >= 0 && hi <= max)) {
            return chars;
        }
        if (max >= 0 && lo > max || hi >= 0 && hi < min) {
            return GbnfExpr.NEVER;
        }
        switch (chars) {
            case GbnfExpr.Choice c -> {
                List<GbnfExpr> options = new ArrayList<>();
                for (GbnfExpr option : c.options()) {
                    GbnfExpr sized = withLength(option, min, max);
                    if (sized == null) {
                        return null;
                    }
                    options.add(sized);
                }
                return GbnfExpr.alt(options);
            }
            case GbnfExpr.Sequence s -> {
                int variable = -1;
                long fixed = 0;
                for (int i = 0; i < s.items().size(); i++) {
                    GbnfExpr item = s.items().get(i);
                    if (item.minLength() == item.maxLength()) {
                        fixed += item.minLength();
                    } else if (variable >= 0) {
                        return null;
                    } else {
                        variable = i;
                    }
                }
                if (variable < 0) {
                    return GbnfExpr.NEVER;
                }
                GbnfExpr sized = withLength(s.items().get(variable), Math.max(0, min - fixed),
                        max < 0 ? -1 : max - fixed);
                if (sized == null) {
                    return null;
                }
                List<GbnfExpr> items = new ArrayList<>(s.items());
                items.set(variable, sized);
                return GbnfExpr.seq(items);
            }
            case GbnfExpr.Repeat r -> {
                long k = r.item().minLength();
                if (k == 0 || r.item().maxLength() != k) {
                    return null;
                }
                long from = Math.max(r.min(), (min + k - 1) / k);
                long to = max < 0 ? r.max() : r.max() < 0 ? max / k : Math.min(r.max(), max / k);
                if (to >= 0 && from > to) {
                    return GbnfExpr.NEVER;
                }
                return GbnfExpr.repeat(r.item(), (int) from, (int) to);
            }
            default -> {
                return null;
            }
        }
    }
}
