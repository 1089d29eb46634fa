package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Hostile input sizes stay fast, and one tokenizer serves many threads. */
class TokenizerRobustnessTest {
    private static final Duration GENEROUS = Duration.ofSeconds(20);

    @Test
    void hugeSingleWordsAndWhitespaceRunsEncodeQuicklyAndRoundTrip() {
        Tokenizer byteLevel = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
        Tokenizer byteFallback = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_FALLBACK);
        List<String> inputs = List.of(
            "a".repeat(200_000),
            " ".repeat(200_000),
            " ".repeat(100_000) + "x" + "\n ".repeat(50_000),
            "ab".repeat(100_000),
            "你".repeat(100_000));
        assertTimeoutPreemptively(GENEROUS, () -> {
            for (String text : inputs) {
                String shown = text.substring(0, 4) + "... (" + text.length() + " chars)";
                assertTrue(text.equals(byteLevel.decode(byteLevel.encode(text, false), false)), shown);
                // SentencePiece-style decoding drops the space that the leading '▁' stands for.
                String expected = text.startsWith(" ") ? text.substring(1) : text;
                assertTrue(expected.equals(byteFallback.decode(byteFallback.encode(text, false), true)), shown);
            }
        });
    }

    @Test
    void concurrentEncodingMatchesSequential() throws Exception {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
        List<GoldenCases.EncodeCase> cases = GoldenCases.encodeCases(GoldenCases.BYTE_LEVEL);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int worker = 0; worker < 4; worker++) {
                futures.add(pool.submit(() -> {
                    for (int round = 0; round < 200; round++) {
                        for (GoldenCases.EncodeCase c : cases) {
                            assertArrayEquals(c.ids(), t.encode(c.text(), false));
                        }
                        // Fresh words keep the bounded cache churning while others read it.
                        t.encode("word" + round + " " + Thread.currentThread().getName(), false);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
