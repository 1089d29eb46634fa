package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import xllm.engine.TestData;
import xllm.engine.tokenizer.Tokenizer;

class TokenMasksTest {
    private static List<byte[]> pieces(String... texts) {
        List<byte[]> out = new ArrayList<>();
        for (String t : texts) {
            out.add(t == null ? null : t.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void maskHoldsExactlyTheTokensTheGrammarAllows() {
        // id 0 is end of sequence; 7 and 8 share their bytes (a byte token and its text twin)
        VocabularyTrie trie = VocabularyTrie.of(pieces(null, "a", "ab", "abc", "b", "ba", "c", "x", "x", "bab"),
                new int[] {0});
        TokenMasks masks = new TokenMasks(Grammar.parse("root ::= (\"ab\" | \"x\")+"), trie);
        GrammarMatcher m = new GrammarMatcher(masks);
        assertArrayEquals(new int[] {1, 2, 7, 8}, ids(m.allowed(), 10));
        assertTrue(m.accept(1));
        assertArrayEquals(new int[] {4, 5, 9}, ids(m.allowed(), 10), "after 'a': 'b', 'ba' and 'bab' continue");
        assertFalse(m.accept(6), "'c' would leave the grammar");
        assertTrue(m.accept(4));
        assertTrue(m.complete());
        assertFalse(m.finished(), "more repeats may follow");
        assertArrayEquals(new int[] {0, 1, 2, 7, 8}, ids(m.allowed(), 10), "end of sequence once complete");
        assertTrue(m.accept(0));
    }

    @Test
    void outputEndsWhereTheGrammarAllowsNothingMore() {
        VocabularyTrie trie = VocabularyTrie.of(pieces(null, "yes", "no", "y", "es"), new int[] {0});
        GrammarMatcher m = new GrammarMatcher(new TokenMasks(Grammar.parse("root ::= \"yes\" | \"no\""), trie));
        assertTrue(m.accept(3));
        assertArrayEquals(new int[] {4}, ids(m.allowed(), 5));
        assertTrue(m.accept(4));
        assertTrue(m.finished());
    }

    /** On a real 128k-151k vocabulary the mask equals a token-by-token check at every step of a JSON text. */
    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama3", "deepseek_v3"})
    void realVocabularyMasksEqualBruteForce(String name) {
        Tokenizer tokenizer = Tokenizer.load(TestData.fixture("tokenizers/real/" + name));
        int eos = tokenizer.eosTokenId();
        VocabularyTrie trie = VocabularyTrie.of(tokenizer, new int[] {eos});
        TokenMasks masks = new TokenMasks(Grammar.parse(GbnfGrammarTest.JSON), trie);
        GrammarMatcher matcher = new GrammarMatcher(masks);
        String text = "{\"name\": \"Zoë 東京\", \"tags\": [\"a\\n\", 1.5e3, true], \"n\": {\"x\": null}}";
        int[] ids = tokenizer.encode(text, false);
        int state = masks.automaton().start();
        for (int step = 0; step <= ids.length; step++) {
            long[] mask = matcher.allowed();
            for (int t = 0; t < tokenizer.vocabSize(); t++) {
                byte[] bytes = tokenizer.isSpecial(t) ? null : tokenizer.tokenBytes(t);
                boolean expected = bytes != null && bytes.length > 0 && t != eos
                        ? masks.next(state, bytes) != GrammarAutomaton.DEAD
                        : t == eos && masks.automaton().accepting(state);
                assertEquals(expected, (mask[t >>> 6] >>> t & 1) != 0, name + " token " + t + " at step " + step);
            }
            if (step < ids.length) {
                assertTrue((mask[ids[step] >>> 6] >>> ids[step] & 1) != 0, "the text's own token is allowed");
                assertTrue(matcher.accept(ids[step]));
                state = masks.next(state, tokenizer.tokenBytes(ids[step]));
            }
        }
        assertTrue(matcher.complete());
    }

    private static int[] ids(long[] mask, int vocab) {
        return java.util.stream.IntStream.range(0, vocab).filter(t -> (mask[t >>> 6] >>> t & 1) != 0).toArray();
    }
}
