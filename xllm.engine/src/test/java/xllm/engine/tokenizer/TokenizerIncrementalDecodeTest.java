package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Streaming detokenization: per-token deltas are whole characters and add up to the full decode. */
class TokenizerIncrementalDecodeTest {
    private static final String MULTI_BYTE = "emoji 😀🚀 and 你好世界, こんにちは; ñandú 한국어 done";

    static List<GoldenCases.EncodeCase> cases() {
        return GoldenCases.allEncodeCases();
    }

    /** Feeds ids one by one; returns every delta, the flush result last. */
    private static List<String> stream(Tokenizer t, int[] ids, boolean skipSpecial) {
        IncrementalDecoder decoder = t.newIncrementalDecoder(skipSpecial);
        List<String> deltas = new ArrayList<>();
        for (int id : ids) {
            deltas.add(decoder.next(id));
        }
        deltas.add(decoder.flush());
        return deltas;
    }

    private static void assertWholeCharacters(List<String> deltas) {
        for (String d : deltas) {
            assertFalse(d.contains("\uFFFD"), () -> "replacement character in delta " + deltas);
            if (!d.isEmpty()) {
                assertFalse(Character.isHighSurrogate(d.charAt(d.length() - 1)), "delta ends mid surrogate pair");
                assertFalse(Character.isLowSurrogate(d.charAt(0)), "delta starts mid surrogate pair");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void deltasConcatenateToFullDecode(GoldenCases.EncodeCase c) {
        Tokenizer t = TokenizerGoldenTest.tokenizer(c.tokenizer());
        for (boolean skip : new boolean[] {false, true}) {
            List<String> deltas = stream(t, c.ids(), skip);
            assertEquals(t.decode(c.ids(), skip), String.join("", deltas), "skipSpecialTokens=" + skip);
            assertWholeCharacters(deltas);
        }
        assertEquals(c.decoded(), String.join("", stream(t, c.ids(), false)));
    }

    @Test
    void byteFallbackEmojiAndCjkStreamWholeCharacters() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);
        int[] ids = t.encode(MULTI_BYTE, false);
        List<String> deltas = stream(t, ids, true);
        assertWholeCharacters(deltas);
        assertEquals(MULTI_BYTE, String.join("", deltas));
        assertEquals(MULTI_BYTE, t.decode(ids, true));
        assertTrue(deltas.contains("😀"), "the emoji arrives as one delta once its 4th byte token is in");
    }

    @Test
    void byteLevelCjkStreamsWholeCharacters() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
        int[] ids = t.encode(MULTI_BYTE, false);
        List<String> deltas = stream(t, ids, false);
        assertWholeCharacters(deltas);
        assertEquals(MULTI_BYTE, String.join("", deltas));
    }

    @Test
    void emojiBytesAreHeldBackUntilTheCharacterCompletes() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);
        int[] ids = t.encode("😀", false);
        // '▁' then the four <0xF0><0x9F><0x98><0x80> byte tokens.
        assertEquals(5, ids.length);
        IncrementalDecoder decoder = t.newIncrementalDecoder(true);
        assertEquals("", decoder.next(ids[0]), "leading '▁' is stripped");
        assertEquals("", decoder.next(ids[1]));
        assertEquals("", decoder.next(ids[2]));
        assertEquals("", decoder.next(ids[3]));
        assertEquals("😀", decoder.next(ids[4]));
        assertEquals("", decoder.flush());
    }

    @Test
    void incompleteCharacterAtTheEndFlushesAsReplacementLikeFullDecode() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);
        int[] all = t.encode("a你", false);
        int[] truncated = java.util.Arrays.copyOf(all, all.length - 1);
        IncrementalDecoder decoder = t.newIncrementalDecoder(true);
        StringBuilder streamed = new StringBuilder();
        for (int id : truncated) {
            streamed.append(decoder.next(id));
        }
        assertEquals("a", streamed.toString(), "the two bytes of an unfinished 你 are held back");
        String tail = decoder.flush();
        assertTrue(tail.chars().allMatch(ch -> ch == 0xFFFD) && !tail.isEmpty(), "flush gives U+FFFD: " + tail);
        assertEquals(t.decode(truncated, true), streamed + tail);
    }

    @Test
    void onlyTheFirstTokensSpaceIsStripped() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);
        int[] ids = t.encode("a b", false);
        IncrementalDecoder decoder = t.newIncrementalDecoder(true);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(decoder.next(id));
        }
        assertEquals("a b", out.append(decoder.flush()).toString());
    }

    @Test
    void skippedSpecialTokensYieldNoText() {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
        int[] ids = t.encode("<|im_start|>user\nhi<|im_end|>", false);
        assertArrayEquals(new int[] {1}, java.util.Arrays.copyOf(ids, 1));
        assertEquals("user\nhi", String.join("", stream(t, ids, true)));
        assertEquals("<|im_start|>user\nhi<|im_end|>", String.join("", stream(t, ids, false)));
    }
}
