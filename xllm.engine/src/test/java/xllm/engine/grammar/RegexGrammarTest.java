package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Regular expressions as grammars: the whole output must match, as ECMA-262 would match it. */
class RegexGrammarTest {
    private static Grammar regex(String pattern) {
        return Grammar.parse(RegexGrammar.toGbnf(pattern));
    }

    private static void matches(String pattern, String... texts) {
        Grammar g = regex(pattern);
        for (String text : texts) {
            assertTrue(g.accepts(text), "/" + pattern + "/ should match " + text);
        }
    }

    private static void rejects(String pattern, String... texts) {
        Grammar g = regex(pattern);
        for (String text : texts) {
            assertFalse(g.accepts(text), "/" + pattern + "/ should not match " + text);
        }
    }

    @Test
    void literalsQuantifiersAndAlternation() {
        matches("ab+c?|x{2,3}", "ab", "abbbc", "xx", "xxx");
        rejects("ab+c?|x{2,3}", "a", "abcc", "x", "xxxx", "abxx");
        matches("(?:ab){2}(cd)*", "abab", "ababcdcd");
        rejects("(?:ab){2}(cd)*", "ab", "ababc");
        matches("a{2,}", "aa", "aaaaaaa");
        rejects("a{2,}", "a");
        matches("(?<year>\\d{4})-(?<month>\\d\\d)", "2024-05");
    }

    @Test
    void lazyQuantifiersMatchTheSameStrings() {
        matches("a+?b*?c??d{1,2}?", "ad", "aabbcdd");
        rejects("a+?b*?c??d{1,2}?", "bd", "addd");
    }

    @Test
    void anchorsAtTheEndsAreRedundant() {
        matches("^abc$", "abc");
        matches("^a|b$", "a", "b");
        rejects("^abc$", "xabc", "abcx");
    }

    @Test
    void classesAndEscapes() {
        matches("[a-c_\\d][^a-z]\\w\\s\\.", "_Z9 .", "c99\u00a0.", "1-x\t.");
        rejects("[a-c_\\d][^a-z]\\w\\s\\.", "d9x .", "aaaa.", "a9x x");
        matches("\\u00e9\\u{1F600}\\x41\\/\\n", "é😀A/\n");
        matches("[\\]\\-\\\\^]+", "]-\\^");
        matches("\\D\\W\\S", "a!x");
        rejects("\\D\\W\\S", "1!x", "aax", "a! ");
        matches("[\\ud83d\\ude00]", "😀");
    }

    @Test
    void unicodePropertiesAreTheirCharacters() {
        matches("\\p{Letter}+\\p{Nd}\\P{L}", "Helloπ1!", "日本5 ");
        rejects("\\p{Letter}+\\p{Nd}\\P{L}", "Hello11a", "123");
        matches("\\p{Script=Greek}+", "αβγ");
        rejects("\\p{Script=Greek}+", "abc");
    }

    @Test
    void dotIsAnyCharacterButLineTerminators() {
        matches("a.c", "abc", "a😀c", "a\u00a0c");
        rejects("a.c", "a\nc", "a\rc", "a\u2028c", "ac");
    }

    @Test
    void unsupportedConstructsAreRefusedByName() {
        assertEquals("lookahead", refusal("a(?=b)"));
        assertEquals("lookahead", refusal("a(?!b)"));
        assertEquals("lookbehind", refusal("(?<=a)b"));
        assertEquals("lookbehind", refusal("(?<!a)b"));
        assertEquals("backreference", refusal("(a)\\1"));
        assertEquals("backreference", refusal("(?<x>a)\\k<x>"));
        assertEquals("word boundary", refusal("\\bword\\b"));
        assertEquals("flags", refusal("(?i)abc"));
        assertEquals("^ anchor", refusal("a^b"));
        assertEquals("$ anchor", refusal("a$b"));
        assertEquals("^ anchor", refusal("(^a)"));
        assertEquals("\\p", refusal("\\p{Emoji_Presentation}"));
    }

    @Test
    void malformedPatternsAreErrors() {
        for (String bad : new String[] {"(ab", "ab)", "[ab", "a{3,2}", "*a", "[z-a]", "\\", "a**"}) {
            GrammarException e = assertThrows(GrammarException.class, () -> RegexGrammar.toGbnf(bad), bad);
            assertFalse(e instanceof UnsupportedFeature, bad + " is malformed, not unsupported");
        }
    }

    private static String refusal(String pattern) {
        return assertThrows(UnsupportedFeature.class, () -> RegexGrammar.toGbnf(pattern)).feature();
    }
}
