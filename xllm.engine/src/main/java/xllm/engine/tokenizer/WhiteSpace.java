package xllm.engine.tokenizer;

/**
 * Unicode's White_Space property, which Rust's {@code char::is_whitespace} (used by HF tokenizers)
 * tests. Java's Character.isWhitespace differs: it rejects no-break spaces and accepts U+001C..U+001F.
 * Stateless.
 */
final class WhiteSpace {
    private WhiteSpace() {
    }

    static boolean test(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
            || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
            || cp == 0x205F || cp == 0x3000;
    }

    /** {@code s} without leading and/or trailing White_Space. */
    static String strip(String s, boolean leading, boolean trailing) {
        int from = 0;
        int to = s.length();
        while (leading && from < to && test(s.codePointAt(from))) {
            from += Character.charCount(s.codePointAt(from));
        }
        while (trailing && to > from && test(s.codePointBefore(to))) {
            to -= Character.charCount(s.codePointBefore(to));
        }
        return s.substring(from, to);
    }
}
