package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Pre-tokenizer regexes keep the meaning they have in Rust's regex crate, where tokenizer.json comes from. */
class TokenizerRegexTest {
    private static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
        + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static List<String> pieces(String regex, String text) {
        Matcher m = RustRegex.compile(regex).matcher(text);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    @Test
    void whitespaceIsUnicodeWhiteSpaceAsInRust() {
        Pattern s = RustRegex.compile("\\s");
        for (char c : new char[] {'\u00A0', '\u3000', '\u2028', '\u0085', '\u202F'}) {
            assertTrue(s.matcher(String.valueOf(c)).matches(), "U+" + Integer.toHexString(c));
        }
        assertFalse(s.matcher("\u200B").matches(), "zero-width space is not White_Space");
    }

    @Test
    void llama3StyleSplitKeepsSpacesWithFollowingWordAndCapsDigitRuns() {
        // U+3000 is neither letter nor digit, so like a space it joins the word after it.
        assertEquals(List.of("I", "'LL", " pay", " ", "123", "45", "\u3000ok"),
            pieces(LLAMA3, "I'LL pay 12345\u3000ok"));
        assertEquals(List.of("a", "  ", " b", "\n\n"), pieces(LLAMA3, "a   b\n\n"));
    }

    @Test
    void caseInsensitiveContractionsAndScriptNames() {
        assertEquals(List.of("'S"), pieces("(?i:'s|'t)", "'S"));
        assertEquals(List.of("你好"), pieces("\\p{Han}+", "ab你好cd"));
        assertEquals(List.of("こんにちは"), pieces("\\p{Hiragana}+", "xこんにちはy"));
    }

    @Test
    void dollarMeansEndOfTextNotBeforeFinalNewline() {
        assertEquals(List.of(), pieces("a$", "a\n"));
        assertEquals(List.of("a"), pieces("a$", "xa"));
    }

    @Test
    void dotStopsOnlyAtLineFeed() {
        assertEquals(List.of("a\rb"), pieces("a.b", "a\rb"));
        assertEquals(List.of(), pieces("a.b", "a\nb"));
    }
}
