package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * How JSON is written in the grammars: compact, with at most one space after {@code ,} and {@code :}; strings
 * in UTF-8 with only {@code " \} and control characters escaped. Holds the shared rules ({@code value},
 * {@code string}, ...) of one grammar, defined when first used.
 */
final class JsonText {
    private static final CharRanges HEX = CharRanges.of('0', '9').union(CharRanges.of('a', 'f')).union(CharRanges.of('A', 'F'));
    private static final CharRanges CONTROL = CharRanges.of(0, 0x1F);
    /** The characters a string holds as they are. */
    static final CharRanges UNESCAPED = CharRanges.ANY.minus(CONTROL).minus(CharRanges.ofChars("\"\\"));
    private static final Map<Integer, String> SHORT_ESCAPES = Map.of(
            (int) '"', "\\\"", (int) '\\', "\\\\", 0x08, "\\b", 0x0C, "\\f", 0x0A, "\\n", 0x0D, "\\r", 0x09, "\\t");

    private static final List<String> SHARED = List.of("comma", "colon", "value", "object", "array", "string",
            "char", "escape", "number", "integer");

    private static final GbnfExpr CHARACTER = character(GbnfExpr.chars(HEX));

    /** {@link #encoded} of the sets met so far: a pure function of an immutable set, and called per character. */
    private static final Map<CharRanges, GbnfExpr> ENCODED = new ConcurrentHashMap<>();

    final GbnfRules rules;
    private final Set<String> defined = new HashSet<>();

    /** The shared rules of {@code rules}' grammar; their names are reserved there at once. */
    JsonText(GbnfRules rules) {
        this.rules = rules;
        for (String name : SHARED) {
            rules.reserve(name);
        }
    }

    /** {@code ,} and an optional space, between members and elements. */
    GbnfExpr comma() {
        return shared("comma", () -> GbnfExpr.seq(GbnfExpr.lit(","), GbnfExpr.opt(GbnfExpr.lit(" "))));
    }

    /** {@code :} and an optional space, after a member name. */
    GbnfExpr colon() {
        return shared("colon", () -> GbnfExpr.seq(GbnfExpr.lit(":"), GbnfExpr.opt(GbnfExpr.lit(" "))));
    }

    /** Any JSON value. */
    GbnfExpr value() {
        return shared("value", () -> GbnfExpr.alt(object(), array(), string(), number(), GbnfExpr.lit("true"),
                GbnfExpr.lit("false"), GbnfExpr.lit("null")));
    }

    /** Any JSON object. */
    GbnfExpr object() {
        return shared("object", () -> {
            GbnfExpr member = GbnfExpr.seq(string(), colon(), value());
            return GbnfExpr.seq(GbnfExpr.lit("{"), GbnfExpr.opt(commaList(member)), GbnfExpr.lit("}"));
        });
    }

    /** Any JSON array. */
    GbnfExpr array() {
        return shared("array", () -> GbnfExpr.seq(GbnfExpr.lit("["), GbnfExpr.opt(commaList(value())), GbnfExpr.lit("]")));
    }

    /** One or more {@code item}s separated by {@link #comma}. */
    GbnfExpr commaList(GbnfExpr item) {
        return GbnfExpr.seq(item, GbnfExpr.star(GbnfExpr.seq(comma(), item)));
    }

    /** Any JSON string. */
    GbnfExpr string() {
        return shared("string", () -> GbnfExpr.seq(GbnfExpr.lit("\""), GbnfExpr.star(character()), GbnfExpr.lit("\"")));
    }

    /**
     * One character of a string as JSON may write it: escapes too, a surrogate pair as one character and no lone
     * surrogate, so that counting these counts the string's code points.
     */
    GbnfExpr character() {
        return shared("char", () -> CHARACTER);
    }

    /** Any JSON number (RFC 8259). */
    GbnfExpr number() {
        return shared("number", () -> GbnfExpr.seq(integer(),
                GbnfExpr.opt(GbnfExpr.seq(GbnfExpr.lit("."), GbnfExpr.repeat(digit(), 1, -1))),
                GbnfExpr.opt(GbnfExpr.seq(GbnfExpr.chars(CharRanges.ofChars("eE")),
                        GbnfExpr.opt(GbnfExpr.chars(CharRanges.ofChars("+-"))), GbnfExpr.repeat(digit(), 1, -1)))));
    }

    /** Any integer written without fraction or exponent. */
    GbnfExpr integer() {
        return shared("integer", () -> GbnfExpr.seq(GbnfExpr.opt(GbnfExpr.lit("-")), GbnfExpr.alt(GbnfExpr.lit("0"),
                GbnfExpr.seq(GbnfExpr.chars(CharRanges.of('1', '9')), GbnfExpr.star(digit())))));
    }

    private static GbnfExpr character(GbnfExpr hex) {
        GbnfExpr notSurrogate = GbnfExpr.alt(
                GbnfExpr.seq(GbnfExpr.chars(HEX.minus(CharRanges.ofChars("dD"))), GbnfExpr.repeat(hex, 3, 3)),
                GbnfExpr.seq(GbnfExpr.chars(CharRanges.ofChars("dD")), GbnfExpr.chars(CharRanges.of('0', '7')),
                        GbnfExpr.repeat(hex, 2, 2)));
        GbnfExpr pair = GbnfExpr.seq(GbnfExpr.lit("u"), GbnfExpr.chars(CharRanges.ofChars("dD")),
                GbnfExpr.chars(CharRanges.ofChars("89abAB")), GbnfExpr.repeat(hex, 2, 2), GbnfExpr.lit("\\u"),
                GbnfExpr.chars(CharRanges.ofChars("dD")), GbnfExpr.chars(CharRanges.ofChars("cdefCDEF")),
                GbnfExpr.repeat(hex, 2, 2));
        return GbnfExpr.alt(GbnfExpr.chars(UNESCAPED), GbnfExpr.seq(GbnfExpr.lit("\\"), GbnfExpr.alt(
                GbnfExpr.chars(CharRanges.ofChars("\"\\/bfnrt")), GbnfExpr.seq(GbnfExpr.lit("u"), notSurrogate), pair)));
    }

    private static GbnfExpr digit() {
        return GbnfExpr.chars(CharRanges.of('0', '9'));
    }

    /** Exactly {@code value}, written as {@link #write} does but with the optional spaces allowed. */
    GbnfExpr exactly(JsonNode value) {
        if (value.isObject()) {
            List<GbnfExpr> members = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : value.properties()) {
                members.add(GbnfExpr.seq(GbnfExpr.lit("\"" + escape(e.getKey()) + "\""), colon(), exactly(e.getValue())));
            }
            return GbnfExpr.seq(GbnfExpr.lit("{"), separated(members), GbnfExpr.lit("}"));
        }
        if (value.isArray()) {
            List<GbnfExpr> elements = new ArrayList<>();
            value.forEach(v -> elements.add(exactly(v)));
            return GbnfExpr.seq(GbnfExpr.lit("["), separated(elements), GbnfExpr.lit("]"));
        }
        return GbnfExpr.lit(write(value));
    }

    private GbnfExpr separated(List<GbnfExpr> items) {
        List<GbnfExpr> all = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                all.add(comma());
            }
            all.add(items.get(i));
        }
        return GbnfExpr.seq(all);
    }

    /** {@code value} as compact JSON: integral numbers without fraction, others in plain notation. */
    static String write(JsonNode value) {
        if (value.isNumber()) {
            return number(value.decimalValue());
        }
        if (value.isTextual()) {
            return "\"" + escape(value.asText()) + "\"";
        }
        if (value.isObject()) {
            StringBuilder out = new StringBuilder("{");
            for (Map.Entry<String, JsonNode> e : value.properties()) {
                out.append(out.length() > 1 ? "," : "").append('"').append(escape(e.getKey())).append("\":")
                        .append(write(e.getValue()));
            }
            return out.append('}').toString();
        }
        if (value.isArray()) {
            StringBuilder out = new StringBuilder("[");
            value.forEach(v -> out.append(out.length() > 1 ? "," : "").append(write(v)));
            return out.append(']').toString();
        }
        return value.toString();
    }

    /** A number as the grammars write it: integral values as integers, others in plain notation. */
    static String number(BigDecimal value) {
        BigDecimal stripped = value.stripTrailingZeros();
        return stripped.scale() <= 0 ? stripped.toBigIntegerExact().toString() : stripped.toPlainString();
    }

    /** {@code text} as a JSON string's content: only {@code " \}, control characters and lone surrogates escaped. */
    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            String shortEscape = SHORT_ESCAPES.get(cp);
            if (shortEscape != null) {
                out.append(shortEscape);
            } else if (cp < 0x20 || Character.isSurrogate((char) cp) && cp <= 0xFFFF) {
                // a lone surrogate cannot be written as UTF-8, only as an escape
                out.append(String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }

    /** As {@link #encoded}, but with the escapes of all of {@code " \} and the control characters as one shared rule. */
    GbnfExpr encodedShared(CharRanges chars) {
        CharRanges escaped = CharRanges.ANY.minus(UNESCAPED);
        if (!escaped.minus(chars).isEmpty()) {
            return encoded(chars);
        }
        return GbnfExpr.alt(GbnfExpr.chars(chars.intersect(UNESCAPED)), shared("escape", () -> encoded(escaped)));
    }

    /**
     * The characters of {@code chars} as a JSON string holds them: most as themselves, {@code " \} and control
     * characters as escapes; each alternative decodes to exactly one character of {@code chars}.
     */
    static GbnfExpr encoded(CharRanges chars) {
        if (ENCODED.size() > 4096) {
            ENCODED.clear();
        }
        return ENCODED.computeIfAbsent(chars, JsonText::encodedUncached);
    }

    private static GbnfExpr encodedUncached(CharRanges chars) {
        List<GbnfExpr> options = new ArrayList<>();
        options.add(GbnfExpr.chars(chars.intersect(UNESCAPED)));
        CharRanges escaped = chars.minus(UNESCAPED);
        if (escaped.isEmpty()) {
            return options.getFirst();
        }
        for (int cp : new int[] {'"', '\\', 0x08, 0x0C, 0x0A, 0x0D, 0x09}) {
            if (escaped.contains(cp)) {
                options.add(GbnfExpr.lit(SHORT_ESCAPES.get(cp)));
            }
        }
        for (int high = 0; high < 2; high++) {
            CharRanges lowDigits = CharRanges.EMPTY;
            for (int cp = high * 16; cp < high * 16 + 16; cp++) {
                if (escaped.contains(cp) && !SHORT_ESCAPES.containsKey(cp)) {
                    lowDigits = lowDigits.union(hexDigit(cp & 0xF));
                }
            }
            if (!lowDigits.isEmpty()) {
                options.add(GbnfExpr.seq(GbnfExpr.lit(high == 0 ? "\\u000" : "\\u001"), GbnfExpr.chars(lowDigits)));
            }
        }
        return GbnfExpr.alt(options);
    }

    private static CharRanges hexDigit(int v) {
        String digit = Integer.toHexString(v);
        return CharRanges.ofChars(digit + digit.toUpperCase());
    }

    /** A reference to the shared rule {@code name}, defined from {@code body} on first use. */
    private GbnfExpr shared(String name, Supplier<GbnfExpr> body) {
        if (defined.add(name)) {
            rules.define(name, body.get());
        }
        return GbnfExpr.ref(name);
    }
}
