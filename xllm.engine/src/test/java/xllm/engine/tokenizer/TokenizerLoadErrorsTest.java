package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.api.ChatMessage;

/** Broken or hostile tokenizer files fail with one clear line naming the file, never a crash. */
class TokenizerLoadErrorsTest {
    @TempDir
    Path dir;

    private static String fixtureJson() throws IOException {
        return Files.readString(GoldenCases.dir(GoldenCases.BYTE_FALLBACK).resolve("tokenizer.json"));
    }

    private IllegalArgumentException loadFails() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(dir));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private void assertLoadFailsMentioning(String... parts) {
        String message = loadFails().getMessage();
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "'" + part + "' missing from: " + message);
        }
    }

    @Test
    void truncatedTokenizerJsonNamesFileAndProblem() throws IOException {
        String json = fixtureJson();
        Files.writeString(dir.resolve("tokenizer.json"), json.substring(0, json.length() / 2));
        String message = loadFails().getMessage();
        assertTrue(message.contains("tokenizer.json"), message);
        assertTrue(message.contains("malformed JSON"), message);
    }

    @Test
    void missingTokenizerJsonIsReported() {
        String message = loadFails().getMessage();
        assertTrue(message.contains("tokenizer.json") && message.contains("not found"), message);
    }

    @Test
    void aModelDirectoryWithoutATokenizerIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.forModel(dir));
        assertEquals(dir + " has no tokenizer: no tokenizer.json in it", e.getMessage());
        assertTrue(Tokenizer.forModelIfPresent(dir).isEmpty());
    }

    @Test
    void malformedTokenizerConfigNamesThatFile() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), fixtureJson());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": ");
        String message = loadFails().getMessage();
        assertTrue(message.contains("tokenizer_config.json"), message);
    }

    @Test
    void wrongShapesAreRejectedWithTheFieldNamed() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": [1, 2]}}");
        assertLoadFailsMentioning("model.vocab");

        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": -3}}}");
        assertLoadFailsMentioning("invalid id");

        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}");
        assertLoadFailsMentioning("model.merges[0]");

        Files.writeString(dir.resolve("tokenizer.json"), "[1, 2, 3]");
        assertLoadFailsMentioning("tokenizer.json");
    }

    @Test
    void unsupportedComponentsAreNamed() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"),
            "{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}, \"decoder\": null}");
        assertLoadFailsMentioning("Unigram");

        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 0}},"
            + " \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(unclosed\"}}}");
        String message = loadFails().getMessage();
        assertTrue(message.contains("tokenizer.json") && message.contains("regex"), message);
    }

    @Test
    void configTokensMayBeObjectsAndTemplateListPicksDefault() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), fixtureJson());
        Files.writeString(dir.resolve("tokenizer_config.json"), """
            {"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": {"content": "</s>"},
             "chat_template": [{"name": "tool_use", "template": "tools"},
                               {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}"}]}
            """);
        Tokenizer t = Tokenizer.load(dir);
        assertEquals(1, t.bosTokenId());
        assertEquals(2, t.eosTokenId());
        assertEquals("<s>hi", t.chatTemplate().render(List.of(new ChatMessage("user", "hi")), false));
    }

    @Test
    void minimalTokenizerWithoutOptionalSectionsWorks() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}}
            """);
        Tokenizer t = Tokenizer.load(dir);
        assertEquals(List.of(2, 0), java.util.Arrays.stream(t.encode("aba", false)).boxed().toList());
        // Without a decoder HF joins tokens with spaces.
        assertEquals("ab a", t.decode(new int[] {2, 0}, false));
        assertEquals(-1, t.eosTokenId());
    }
}
