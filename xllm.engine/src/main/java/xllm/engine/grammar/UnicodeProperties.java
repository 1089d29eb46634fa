package xllm.engine.grammar;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntPredicate;

/**
 * The characters of a regular expression's {@code \p{...}}: general categories ({@code L}, {@code Letter},
 * {@code gc=Nd}), scripts ({@code Script=Greek}) and a few binary properties, as the JDK's Unicode tables
 * define them. Built once per property; thread-safe.
 */
final class UnicodeProperties {
    private static final Map<String, CharRanges> CACHE = new ConcurrentHashMap<>();
    private static final Map<String, String> CATEGORY_NAMES = Map.ofEntries(
            Map.entry("letter", "L"), Map.entry("cased_letter", "LC"), Map.entry("uppercase_letter", "Lu"),
            Map.entry("lowercase_letter", "Ll"), Map.entry("titlecase_letter", "Lt"), Map.entry("modifier_letter", "Lm"),
            Map.entry("other_letter", "Lo"), Map.entry("mark", "M"), Map.entry("combining_mark", "M"),
            Map.entry("nonspacing_mark", "Mn"), Map.entry("spacing_mark", "Mc"), Map.entry("enclosing_mark", "Me"),
            Map.entry("number", "N"), Map.entry("decimal_number", "Nd"), Map.entry("digit", "Nd"),
            Map.entry("letter_number", "Nl"), Map.entry("other_number", "No"), Map.entry("punctuation", "P"),
            Map.entry("punct", "P"), Map.entry("connector_punctuation", "Pc"), Map.entry("dash_punctuation", "Pd"),
            Map.entry("open_punctuation", "Ps"), Map.entry("close_punctuation", "Pe"),
            Map.entry("initial_punctuation", "Pi"), Map.entry("final_punctuation", "Pf"),
            Map.entry("other_punctuation", "Po"), Map.entry("symbol", "S"), Map.entry("math_symbol", "Sm"),
            Map.entry("currency_symbol", "Sc"), Map.entry("modifier_symbol", "Sk"), Map.entry("other_symbol", "So"),
            Map.entry("separator", "Z"), Map.entry("space_separator", "Zs"), Map.entry("line_separator", "Zl"),
            Map.entry("paragraph_separator", "Zp"), Map.entry("other", "C"), Map.entry("control", "Cc"),
            Map.entry("cntrl", "Cc"), Map.entry("format", "Cf"), Map.entry("surrogate", "Cs"),
            Map.entry("private_use", "Co"), Map.entry("unassigned", "Cn"));
    private static final Map<String, int[]> CATEGORIES = Map.ofEntries(
            Map.entry("Lu", new int[] {Character.UPPERCASE_LETTER}), Map.entry("Ll", new int[] {Character.LOWERCASE_LETTER}),
            Map.entry("Lt", new int[] {Character.TITLECASE_LETTER}), Map.entry("Lm", new int[] {Character.MODIFIER_LETTER}),
            Map.entry("Lo", new int[] {Character.OTHER_LETTER}),
            Map.entry("Mn", new int[] {Character.NON_SPACING_MARK}), Map.entry("Mc", new int[] {Character.COMBINING_SPACING_MARK}),
            Map.entry("Me", new int[] {Character.ENCLOSING_MARK}), Map.entry("Nd", new int[] {Character.DECIMAL_DIGIT_NUMBER}),
            Map.entry("Nl", new int[] {Character.LETTER_NUMBER}), Map.entry("No", new int[] {Character.OTHER_NUMBER}),
            Map.entry("Pc", new int[] {Character.CONNECTOR_PUNCTUATION}), Map.entry("Pd", new int[] {Character.DASH_PUNCTUATION}),
            Map.entry("Ps", new int[] {Character.START_PUNCTUATION}), Map.entry("Pe", new int[] {Character.END_PUNCTUATION}),
            Map.entry("Pi", new int[] {Character.INITIAL_QUOTE_PUNCTUATION}),
            Map.entry("Pf", new int[] {Character.FINAL_QUOTE_PUNCTUATION}), Map.entry("Po", new int[] {Character.OTHER_PUNCTUATION}),
            Map.entry("Sm", new int[] {Character.MATH_SYMBOL}), Map.entry("Sc", new int[] {Character.CURRENCY_SYMBOL}),
            Map.entry("Sk", new int[] {Character.MODIFIER_SYMBOL}), Map.entry("So", new int[] {Character.OTHER_SYMBOL}),
            Map.entry("Zs", new int[] {Character.SPACE_SEPARATOR}), Map.entry("Zl", new int[] {Character.LINE_SEPARATOR}),
            Map.entry("Zp", new int[] {Character.PARAGRAPH_SEPARATOR}), Map.entry("Cc", new int[] {Character.CONTROL}),
            Map.entry("Cf", new int[] {Character.FORMAT}), Map.entry("Cs", new int[] {Character.SURROGATE}),
            Map.entry("Co", new int[] {Character.PRIVATE_USE}), Map.entry("Cn", new int[] {Character.UNASSIGNED}),
            Map.entry("L", new int[] {Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER}),
            Map.entry("LC", new int[] {Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER}),
            Map.entry("M", new int[] {Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK, Character.ENCLOSING_MARK}),
            Map.entry("N", new int[] {Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER}),
            Map.entry("P", new int[] {Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION}),
            Map.entry("S", new int[] {Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL,
                    Character.OTHER_SYMBOL}),
            Map.entry("Z", new int[] {Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR}),
            Map.entry("C", new int[] {Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE,
                    Character.UNASSIGNED}));

    private UnicodeProperties() {
    }

    /** The characters with property {@code name} (what is between the braces of {@code \p{...}}). */
    static CharRanges of(String name) {
        CharRanges known = CACHE.get(name);
        if (known == null) {
            known = build(name, predicate(name));
            CACHE.put(name, known);
        }
        return known;
    }

    private static IntPredicate predicate(String name) {
        int eq = name.indexOf('=');
        if (eq >= 0) {
            String key = name.substring(0, eq);
            String value = name.substring(eq + 1);
            if (key.equals("General_Category") || key.equals("gc")) {
                return category(value, name);
            }
            if (key.equals("Script") || key.equals("sc")) {
                try {
                    Character.UnicodeScript script = Character.UnicodeScript.forName(value);
                    return cp -> Character.UnicodeScript.of(cp) == script;
                } catch (IllegalArgumentException e) {
                    throw new GrammarException("unknown Unicode script '" + value + "' in \\p{" + name + "}");
                }
            }
            throw unsupported(name);
        }
        return switch (name) {
            case "Any" -> cp -> true;
            case "ASCII" -> cp -> cp < 0x80;
            case "Alphabetic", "Alpha" -> Character::isAlphabetic;
            case "Lowercase", "Lower" -> Character::isLowerCase;
            case "Uppercase", "Upper" -> Character::isUpperCase;
            default -> category(name, name);
        };
    }

    private static IntPredicate category(String value, String name) {
        String shortName = CATEGORIES.containsKey(value) ? value : CATEGORY_NAMES.get(value.toLowerCase(Locale.ROOT));
        if (shortName == null) {
            throw unsupported(name);
        }
        int[] types = CATEGORIES.get(shortName);
        return cp -> {
            int type = Character.getType(cp);
            for (int t : types) {
                if (t == type) {
                    return true;
                }
            }
            return false;
        };
    }

    private static CharRanges build(String name, IntPredicate member) {
        int[] bounds = new int[64];
        int len = 0;
        int start = -1;
        for (int cp = 0; cp <= CharRanges.MAX + 1; cp++) {
            boolean in = cp <= CharRanges.MAX && member.test(cp);
            if (in && start < 0) {
                start = cp;
            } else if (!in && start >= 0) {
                if (len + 2 > bounds.length) {
                    bounds = Arrays.copyOf(bounds, bounds.length * 2);
                }
                bounds[len++] = start;
                bounds[len++] = cp - 1;
                start = -1;
            }
        }
        return new CharRanges(Arrays.copyOf(bounds, len));
    }

    private static UnsupportedFeature unsupported(String name) {
        return new UnsupportedFeature("\\p", "Unicode property \\p{" + name + "} is not supported; general categories,"
                + " Script=..., Any, ASCII, Alphabetic, Lowercase and Uppercase are");
    }
}
