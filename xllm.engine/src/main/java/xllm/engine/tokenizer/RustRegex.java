package xllm.engine.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles the regexes found in tokenizer.json (written for Rust's regex crate / Oniguruma) into
 * java.util.regex patterns with the same meaning. Stateless; thread-safe.
 *
 * <p>Differences handled: {@code \s}, {@code \w}, {@code \d} and {@code (?i)} are Unicode-aware in
 * Rust (UNICODE_CHARACTER_CLASS), {@code .} excludes only '\n' (UNIX_LINES), {@code $} means end of
 * text rather than "before a final line break" ({@code \z}), script names such as {@code \p{Han}}
 * need Java's {@code Is} prefix, and Oniguruma's {@code \h} is a hex digit.
 */
final class RustRegex {
    private RustRegex() {
    }

    static Pattern compile(String regex) {
        return Pattern.compile(translate(regex), Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNIX_LINES);
    }

    static String translate(String regex) {
        boolean multiline = regex.contains("(?m");
        StringBuilder out = new StringBuilder(regex.length() + 16);
        int classDepth = 0;
        int n = regex.length();
        for (int i = 0; i < n; i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < n) {
                char e = regex.charAt(++i);
                if ((e == 'p' || e == 'P') && i + 1 < n && regex.charAt(i + 1) == '{') {
                    int close = regex.indexOf('}', i + 2);
                    if (close < 0) {
                        throw new PatternSyntaxException("unclosed property name", regex, i);
                    }
                    out.append(property(e == 'P', regex.substring(i + 2, close)));
                    i = close;
                } else if (e == 'h') {
                    out.append(classDepth > 0 ? "0-9a-fA-F" : "[0-9a-fA-F]");
                } else {
                    out.append('\\').append(e);
                }
            } else if (c == '[') {
                out.append('[');
                classDepth++;
                if (i + 1 < n && regex.charAt(i + 1) == '^') {
                    out.append('^');
                    i++;
                }
                // A ']' right after the opening bracket is a literal in Rust; Java needs it escaped.
                if (i + 1 < n && regex.charAt(i + 1) == ']') {
                    out.append("\\]");
                    i++;
                }
            } else if (c == ']' && classDepth > 0) {
                out.append(']');
                classDepth--;
            } else if (c == '$' && classDepth == 0 && !multiline) {
                out.append("\\z");
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Java spelling of a Unicode property: categories as is, scripts and binary properties with "Is". */
    private static String property(boolean negated, String name) {
        String p = negated ? "\\P" : "\\p";
        for (String candidate : new String[] {name, "Is" + name, "Is" + name.replace(' ', '_')}) {
            String spelled = p + "{" + candidate + "}";
            try {
                Pattern.compile(spelled);
                return spelled;
            } catch (PatternSyntaxException ignored) {
                // try the next spelling
            }
        }
        throw new PatternSyntaxException("unknown Unicode property '" + name + "'", name, 0);
    }
}
