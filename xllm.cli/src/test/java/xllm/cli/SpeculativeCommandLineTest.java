package xllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code --speculative-config} on the command line: the same tokens, counted drafts, one-line mistakes. */
class SpeculativeCommandLineTest {
    /** Python that repeats itself, so that drafting from the context is accepted. */
    static final String PROMPT = "def add(a, b):\n    return a + b\n\n".repeat(3) + "def add(";
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void locateRoot() {
        Path root = Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"));
        System.setProperty("xllm.home", root.toString());
    }

    private static JsonNode generate(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("generate", "--prompt", PROMPT, "--max-tokens", "32", "--temperature", "0",
                "--ignore-eos", "--output", "json", "--stats", "--threads", "1"));
        args.addAll(List.of(extra));
        CommandLineTest.Run r = CommandLineTest.run(args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.out().lines().count(), "exactly one line on stdout: " + r.out());
        return JSON.readTree(r.out());
    }

    @Test
    void statsCountTheDraftsAndSpeculationKeepsEveryToken() throws Exception {
        JsonNode plain = generate();
        JsonNode suffix = generate("--speculative-config", "{\"method\":\"suffix\"}");
        for (JsonNode line : List.of(plain, suffix)) {
            JsonNode stats = line.get("stats");
            List<String> keys = new ArrayList<>();
            stats.fieldNames().forEachRemaining(keys::add);
            assertEquals(List.of("prefill_tok_s", "decode_tok_s", "draft_tokens", "accepted_tokens"), keys, line.toString());
            assertTrue(stats.get("prefill_tok_s").asDouble() > 0 && stats.get("decode_tok_s").asDouble() > 0, stats.toString());
        }
        assertEquals(0, plain.at("/stats/draft_tokens").asLong(), plain.toString());
        assertEquals(0, plain.at("/stats/accepted_tokens").asLong(), plain.toString());
        long drafted = suffix.at("/stats/draft_tokens").asLong();
        long accepted = suffix.at("/stats/accepted_tokens").asLong();
        assertTrue(drafted > 0 && accepted > 0 && accepted <= drafted, "suffix drafts from the repeated lines: " + suffix.get("stats"));
        assertEquals(32, suffix.get("token_ids").size());
        assertEquals(plain.get("token_ids"), suffix.get("token_ids"), "greedy tokens are the same with speculation");
        assertEquals(plain.get("text"), suffix.get("text"));
    }

    @Test
    void unknownMethodIsAOneLineUsageError() {
        CommandLineTest.Run r = CommandLineTest.run("generate", "--prompt", "x", "--speculative-config", "{\"method\":\"nope\"}");
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("xllm: --speculative-config:") && r.err().contains("'nope'"), r.err());
    }

    @Test
    void benchOfflineShowsNgramBesideNoneWithTheSameGreedyOutput() throws Exception {
        CommandLineTest.Run r = CommandLineTest.run("bench", "offline", "--workload", "editing", "--batch", "1", "--gen-len", "32",
                "--repeats", "1", "--speculative-config", "{\"method\":\"ngram\"}", "--output", "json");
        assertEquals(0, r.status(), r.err());
        List<String> methods = new ArrayList<>();
        for (String text : r.out().strip().lines().toList()) {
            JsonNode line = JSON.readTree(text);
            methods.add(line.get("method").asText());
            assertEquals("editing", line.get("workload").asText(), text);
            assertEquals(1, line.get("batch").asInt(), text);
            assertTrue(line.get("decode_tok_s").asDouble() > 0, text);
            assertTrue(line.get("greedy_output_identical").asBoolean(), "speculation changed the greedy output: " + text);
        }
        assertEquals(2, methods.size(), r.out());
        assertEquals("none", methods.get(0), r.out());
        assertTrue(methods.get(1).startsWith("ngram"), r.out());
    }
}
