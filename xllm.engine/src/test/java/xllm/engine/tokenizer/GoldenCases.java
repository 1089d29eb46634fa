package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import xllm.api.ChatMessage;
import xllm.engine.TestData;

/** Reads the reference outputs the Python tokenizers produced for the fixtures under fixtures/tokenizers. */
final class GoldenCases {
    static final String BYTE_LEVEL = "bytelevel-bpe";
    static final String BYTE_FALLBACK = "byte-fallback-bpe";

    /** One golden.json case: what HF encoded {@code text} to and what it decoded those ids to. */
    record EncodeCase(String tokenizer, boolean addSpecialTokens, String text, int[] ids, String decoded) {
        @Override
        public String toString() {
            String shown = text.length() > 40 ? text.substring(0, 37) + "..." : text;
            return tokenizer + ": " + shown.replace("\n", "\\n").replace("\t", "\\t");
        }
    }

    /** One chat_golden.json case. */
    record ChatCase(List<ChatMessage> messages, boolean addGenerationPrompt, String rendered, int[] ids) {
        @Override
        public String toString() {
            return messages.size() + " messages, add_generation_prompt=" + addGenerationPrompt;
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private GoldenCases() {
    }

    static Path dir(String tokenizer) {
        return TestData.fixture("tokenizers/" + tokenizer);
    }

    static List<EncodeCase> encodeCases(String tokenizer) {
        JsonNode golden = read(dir(tokenizer).resolve("golden.json"));
        boolean addSpecial = golden.get("add_special_tokens").asBoolean();
        List<EncodeCase> cases = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            cases.add(new EncodeCase(tokenizer, addSpecial, c.get("text").asText(), ids(c.get("ids")),
                c.get("decoded").asText()));
        }
        return cases;
    }

    static List<EncodeCase> allEncodeCases() {
        List<EncodeCase> all = new ArrayList<>(encodeCases(BYTE_LEVEL));
        all.addAll(encodeCases(BYTE_FALLBACK));
        return all;
    }

    static List<ChatCase> chatCases(String tokenizer) {
        List<ChatCase> cases = new ArrayList<>();
        for (JsonNode c : read(dir(tokenizer).resolve("chat_golden.json"))) {
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : c.get("messages")) {
                messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            }
            cases.add(new ChatCase(messages, c.get("add_generation_prompt").asBoolean(), c.get("rendered").asText(),
                ids(c.get("ids"))));
        }
        return cases;
    }

    static JsonNode read(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).intValue();
        }
        return ids;
    }
}
