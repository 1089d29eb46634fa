package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import xllm.engine.TestData;

/** Encoding and decoding reproduce Hugging Face tokenizers exactly on the reference cases. */
class TokenizerGoldenTest {
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    static Tokenizer tokenizer(String name) {
        return LOADED.computeIfAbsent(name, n -> Tokenizer.load(GoldenCases.dir(n)));
    }

    static List<GoldenCases.EncodeCase> cases() {
        return GoldenCases.allEncodeCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encodesToReferenceIds(GoldenCases.EncodeCase c) {
        assertArrayEquals(c.ids(), tokenizer(c.tokenizer()).encode(c.text(), c.addSpecialTokens()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesReferenceIdsToReferenceText(GoldenCases.EncodeCase c) {
        assertEquals(c.decoded(), tokenizer(c.tokenizer()).decode(c.ids(), false));
    }

    /** With bos skipped, Llama's decoder strips the space its first '▁' turned into. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("byteFallbackCases")
    void skippingSpecialTokensDropsBosAndTheSpaceAfterIt(GoldenCases.EncodeCase c) {
        String withoutBos = c.decoded().substring("<s>".length());
        String expected = withoutBos.startsWith(" ") ? withoutBos.substring(1) : withoutBos;
        assertEquals(expected, tokenizer(c.tokenizer()).decode(c.ids(), true));
    }

    static List<GoldenCases.EncodeCase> byteFallbackCases() {
        return GoldenCases.encodeCases(GoldenCases.BYTE_FALLBACK);
    }

    /** The bundled model's own tokenizer must give the prompt ids its logits were recorded with. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("modelPrompts")
    void modelDirectoryTokenizerMatchesRecordedPromptIds(String prompt, int[] promptIds, int[] greedyIds,
                                                         String greedyText) {
        Tokenizer t = Tokenizer.load(TestData.model("pycoder-22m"));
        assertArrayEquals(promptIds, t.encode(prompt, false));
        assertEquals(greedyText, t.decode(greedyIds, true));
    }

    static List<org.junit.jupiter.params.provider.Arguments> modelPrompts() {
        JsonNode golden = GoldenCases.read(TestData.model("pycoder-22m").resolve("golden.json"));
        List<org.junit.jupiter.params.provider.Arguments> args = new java.util.ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            args.add(org.junit.jupiter.params.provider.Arguments.of(c.get("prompt").asText(),
                GoldenCases.ids(c.get("prompt_ids")), GoldenCases.ids(c.get("greedy_ids")),
                c.get("greedy_text").asText()));
        }
        return args;
    }
}
