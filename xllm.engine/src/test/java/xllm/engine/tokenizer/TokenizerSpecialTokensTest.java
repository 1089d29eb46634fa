package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Added/special tokens survive encoding whole, and the configured bos/eos ids are found. */
class TokenizerSpecialTokensTest {
    private final Tokenizer byteLevel = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
    private final Tokenizer byteFallback = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);

    @Test
    void specialTokenInTextIsOneIdNeverSplit() {
        int[] ids = byteLevel.encode("<|im_start|>user", false);
        assertEquals(1, ids[0]);
        assertArrayEquals(new int[] {1}, byteLevel.encode("<|im_start|>", false));
        assertArrayEquals(new int[] {2}, byteLevel.encode("<|im_end|>", false));
    }

    @Test
    void specialTokensAreFoundMidWordAndBackToBack() {
        int[] ids = byteLevel.encode("x<|im_end|><|im_start|>y", false);
        assertArrayEquals(new int[] {2, 1}, Arrays.copyOfRange(ids, 1, 3));
        assertEquals(4, ids.length);
        assertEquals("x<|im_end|><|im_start|>y", byteLevel.decode(ids, false));
        assertEquals("xy", byteLevel.decode(ids, true));
    }

    @Test
    void partialSpecialTokenIsOrdinaryText() {
        int[] ids = byteLevel.encode("<|im_start", false);
        assertNotEquals(1, ids[0]);
        assertEquals("<|im_start", byteLevel.decode(ids, false));
    }

    @Test
    void bosAndEosComeFromTokenizerConfig() {
        assertEquals(-1, byteLevel.bosTokenId(), "bos_token is null for the Qwen-style tokenizer");
        assertEquals(0, byteLevel.eosTokenId(), "<|endoftext|>");
        assertEquals(1, byteFallback.bosTokenId(), "<s>");
        assertEquals(2, byteFallback.eosTokenId(), "</s>");
    }

    @Test
    void addSpecialTokensPrependsBosOnlyWhenAsked() {
        int[] with = byteFallback.encode("hello", true);
        int[] without = byteFallback.encode("hello", false);
        assertEquals(1, with[0]);
        assertArrayEquals(without, Arrays.copyOfRange(with, 1, with.length));
    }

    @Test
    void vocabSizeCoversEveryId() {
        assertEquals(8192, byteLevel.vocabSize());
        assertEquals(1024, byteFallback.vocabSize());
    }

    @Test
    void unknownIdsAreIgnoredWhenDecoding() {
        assertEquals("a", byteLevel.decode(new int[] {67, 1_000_000, -5}, false));
    }

    @Test
    void tokenizerWithoutTemplateHasNoChatTemplate() {
        assertNull(byteFallback.chatTemplate());
    }
}
