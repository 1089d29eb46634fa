package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GbnfGrammarTest {
    /** llama.cpp's grammars/json.gbnf, as published. */
    static final String JSON = """
            root   ::= object
            value  ::= object | array | string | number | ("true" | "false" | "null") ws

            object ::=
              "{" ws (
                        string ":" ws value
                ("," ws string ":" ws value)*
              )? "}" ws

            array  ::=
              "[" ws (
                        value
                ("," ws value)*
              )? "]" ws

            string ::=
              "\\"" (
                [^"\\\\\\x7F\\x00-\\x1F] |
                "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
              )* "\\"" ws

            number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

            # Optional space: by convention, applied in this grammar after literal chars when allowed
            ws ::= | " " | "\\n" [ \\t]{0,20}
            """;

    @Test
    void llamaCppJsonGrammarAcceptsJsonObjectsOnly() {
        Grammar g = Grammar.parse(JSON);
        assertTrue(g.accepts("{}"));
        assertTrue(g.accepts("{\"a\": [1, 2.5, -3e4, true, null], \"b\": {\"c\": \"d\\n\\u00e9\"}}"));
        assertTrue(g.accepts("{\"naïve\": \"日本語 😀\"}"));
        assertFalse(g.accepts("{\"a\": }"));
        assertFalse(g.accepts("[1, 2]"), "root is an object");
        assertFalse(g.accepts("{\"a\": 1"), "incomplete");
        assertFalse(g.accepts("{\"a\": \"\u0001\"}"), "raw control character in a string");
        assertFalse(g.accepts("{\"a\": 01}"));
    }

    @Test
    void classesMatchWholeUtf8CharactersNotBytes() {
        Grammar g = Grammar.parse("root ::= [^a]{2}");
        assertTrue(g.accepts("é€"));
        assertTrue(g.accepts("😀b"));
        assertFalse(g.accepts("é"));
        assertFalse(g.accepts(new byte[] {(byte) 0xC3, (byte) 0xA9, (byte) 0xC3}), "a cut-off character");
        assertFalse(g.accepts(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80, 'b'}), "an encoded surrogate");
        assertFalse(g.accepts(new byte[] {(byte) 0xC0, (byte) 0x80, 'b'}), "an overlong encoding");
        Grammar range = Grammar.parse("root ::= [α-ω]+");
        assertTrue(range.accepts("λόγος".replace("ό", "ο")));
        assertFalse(range.accepts("Λ"));
    }

    @Test
    void repetitionCountsAreExact() {
        Grammar g = Grammar.parse("root ::= \"ab\"{2,3} [0-9]{1,} \"x\"?");
        assertTrue(g.accepts("abab1"));
        assertTrue(g.accepts("ababab123x"));
        assertFalse(g.accepts("ab1"));
        assertFalse(g.accepts("abababab1"));
        assertFalse(g.accepts("abab"));
    }

    @Test
    void alternativesMayContinueOnTheNextLine() {
        Grammar g = Grammar.parse("root ::= \"a\"\n  | \"b\"\nother ::= \"c\"");
        assertTrue(g.accepts("b"));
        assertFalse(g.accepts("c"));
    }

    @Test
    void mistakesAreNamed() {
        assertEquals("grammar line 1: expected '::=' after rule name 'root'",
                assertThrows(GrammarException.class, () -> Grammar.parse("root = \"a\"")).getMessage());
        assertEquals("rule 'b' is used but never defined",
                assertThrows(GrammarException.class, () -> Grammar.parse("root ::= b")).getMessage());
        assertEquals("the grammar has no rule 'root'",
                assertThrows(GrammarException.class, () -> Grammar.parse("a ::= \"x\"")).getMessage());
        assertEquals("rule 'root' is left-recursive",
                assertThrows(GrammarException.class, () -> Grammar.parse("root ::= root \"a\" | \"a\"")).getMessage());
        assertThrows(GrammarException.class, () -> Grammar.parse("root ::= \"a"));
        assertThrows(GrammarException.class, () -> Grammar.parse("root ::= [a-"));
        assertThrows(GrammarException.class, () -> Grammar.parse("root ::= \"a\"{3,1}"));
    }

    @Test
    void recursionNestsToAnyDepth() {
        Grammar g = Grammar.parse("root ::= \"(\" root \")\" | \"\"");
        assertTrue(g.accepts("((()))"));
        assertTrue(g.accepts("(".repeat(500) + ")".repeat(500)));
        assertFalse(g.accepts("(()"));
    }
}
