package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A {@code llama} (SentencePiece) vocabulary as a GGUF file carries it: tokens, scores and token types.
 * The metadata is made from the Llama-2-style fixture (a merged piece's score is minus its merge's rank,
 * as SentencePiece scores fall with rarity); encoding must give the Hugging Face golden ids.
 */
class GgufSentencePieceTest {

    @Test
    void scoresGiveTheGoldenIds() throws IOException {
        Map<String, Object> metadata = metadataFromFixture();
        Tokenizer fromGguf = GgufTokenizer.fromMetadata("fixture.gguf", metadata);
        Tokenizer hf = Tokenizer.load(GoldenCases.dir(GoldenCases.BYTE_FALLBACK));
        for (GoldenCases.EncodeCase c : GoldenCases.encodeCases(GoldenCases.BYTE_FALLBACK)) {
            assertArrayEquals(c.ids(), fromGguf.encode(c.text(), c.addSpecialTokens()), c.toString());
            assertEquals(hf.decode(c.ids(), false), fromGguf.decode(c.ids(), false), c.toString());
        }
        assertEquals(hf.eosTokenId(), fromGguf.eosTokenId());
    }

    @Test
    void scoresMustMatchTheTokens() throws IOException {
        Map<String, Object> metadata = metadataFromFixture();
        metadata.put("tokenizer.ggml.scores", List.of(0.0f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgufTokenizer.fromMetadata("bad.gguf", metadata));
        assertEquals("bad.gguf: tokenizer.ggml.scores has 1 entries for 1024 tokens", e.getMessage());
    }

    private static Map<String, Object> metadataFromFixture() throws IOException {
        JsonNode root = new ObjectMapper().readTree(GoldenCases.dir(GoldenCases.BYTE_FALLBACK).resolve("tokenizer.json").toFile());
        JsonNode vocab = root.get("model").get("vocab");
        String[] tokens = new String[vocab.size()];
        vocab.fields().forEachRemaining(e -> tokens[e.getValue().asInt()] = e.getKey());
        Map<String, Float> scores = new HashMap<>();
        JsonNode merges = root.get("model").get("merges");
        for (int rank = 0; rank < merges.size(); rank++) {
            JsonNode m = merges.get(rank);
            scores.putIfAbsent(m.get(0).asText() + m.get(1).asText(), (float) -rank);
        }
        List<Object> tokenList = new ArrayList<>();
        List<Object> scoreList = new ArrayList<>();
        List<Object> types = new ArrayList<>();
        for (String t : tokens) {
            tokenList.add(t);
            scoreList.add(scores.getOrDefault(t, 0f));
            types.add(t.equals("<unk>") ? 2 : t.equals("<s>") || t.equals("</s>") ? 3 : t.matches("<0x[0-9A-F]{2}>") ? 6 : 1);
        }
        Map<String, Object> metadata = new HashMap<>();
        metadata.put("tokenizer.ggml.model", "llama");
        metadata.put("tokenizer.ggml.tokens", tokenList);
        metadata.put("tokenizer.ggml.scores", scoreList);
        metadata.put("tokenizer.ggml.token_type", types);
        metadata.put("tokenizer.ggml.bos_token_id", 1);
        metadata.put("tokenizer.ggml.eos_token_id", 2);
        metadata.put("tokenizer.ggml.unknown_token_id", 0);
        metadata.put("tokenizer.ggml.add_bos_token", true);
        return metadata;
    }
}
