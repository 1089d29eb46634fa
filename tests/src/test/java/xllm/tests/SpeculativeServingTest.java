package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code serve --speculative-config}: speculation changes how fast the text comes, never which text; /metrics
 * counts the drafts as vLLM does; a mistake in the config stops serve with one line that names it.
 */
class SpeculativeServingTest {
    /** Python that repeats itself, so that drafting from the context is accepted. */
    static final String PROMPT = "def add(a, b):\n    return a + b\n\n".repeat(3) + "def add(";
    static final int MAX_TOKENS = 48;

    static ServerProcess plain;
    static ServerProcess suffix;
    static ServerProcess ngram;

    @BeforeAll
    static void start() throws Exception {
        // the three load at once; each gets one of the cores
        plain = ServerProcess.start("--threads", "1");
        suffix = ServerProcess.start("--threads", "1", "--speculative-config", "{\"method\":\"suffix\"}");
        ngram = ServerProcess.start("--threads", "1", "--speculative-config", "{\"method\":\"ngram\",\"num_speculative_tokens\":4}");
        for (ServerProcess s : List.of(plain, suffix, ngram)) {
            s.awaitReady();
        }
    }

    @AfterAll
    static void stop() throws InterruptedException {
        for (ServerProcess s : new ServerProcess[] {plain, suffix, ngram}) {
            if (s != null) {
                s.close();
            }
        }
    }

    static String completionBody(String prompt, boolean stream) {
        ObjectNode body = Http.JSON.createObjectNode().put("model", "pycoder-22m").put("prompt", prompt).put("max_tokens", MAX_TOKENS)
                .put("temperature", 0).put("ignore_eos", true).put("stream", stream);
        if (stream) {
            body.putObject("stream_options").put("include_usage", true);
        }
        return body.toString();
    }

    static String completion(ServerProcess s, String prompt) {
        Http.Response r = Http.post(s.uri("/v1/completions"), completionBody(prompt, false));
        assertEquals(200, r.status(), r.body());
        assertEquals(MAX_TOKENS, r.json().at("/usage/completion_tokens").asInt(), r.body());
        return r.json().at("/choices/0/text").asText();
    }

    @Test
    void greedyTextIsTheSameWithAndWithoutSpeculation() throws Exception {
        String expected = completion(plain, PROMPT);
        for (ServerProcess s : List.of(suffix, ngram)) {
            assertEquals(expected, completion(s, PROMPT), "a whole completion");
            ClusterTest.Stream streamed = ClusterTest.stream(s, completionBody(PROMPT, true));
            assertEquals(expected, streamed.text(), "a streamed completion");
            assertEquals(MAX_TOKENS, streamed.completionTokens());
        }
    }

    /** The spec_decode counters of a server: drafts, draft tokens, accepted tokens, accepted per position. */
    record SpecCounts(double drafts, double draftTokens, double accepted, List<Double> acceptedPerPosition) {
        static SpecCounts of(ServerProcess s) {
            String text = Http.get(s.uri("/metrics")).body();
            List<Double> perPosition = new ArrayList<>();
            Matcher m = Pattern.compile("(?m)^vllm:spec_decode_num_accepted_tokens_per_pos_total\\{[^}]*position=\"(\\d+)\"\\} ([0-9.eE+-]+)$")
                    .matcher(text);
            while (m.find()) {
                assertEquals(perPosition.size(), Integer.parseInt(m.group(1)), "positions in order from 0:\n" + text);
                perPosition.add(Double.parseDouble(m.group(2)));
            }
            return new SpecCounts(Http.metric(s, "vllm:spec_decode_num_drafts_total"), Http.metric(s, "vllm:spec_decode_num_draft_tokens_total"),
                    Http.metric(s, "vllm:spec_decode_num_accepted_tokens_total"), perPosition);
        }

        /** What a server that speculated shows: drafts, some accepted, fewer accepted the further into a draft. */
        void assertSpeculated(String who) {
            assertTrue(drafts > 0 && accepted > 0, who + " drafted and had drafts accepted: " + this);
            assertTrue(draftTokens >= drafts && draftTokens >= accepted, who + ": " + this);
            assertTrue(!acceptedPerPosition.isEmpty() && acceptedPerPosition.get(0) <= drafts, who + ": " + this);
            double sum = 0;
            for (int i = 0; i < acceptedPerPosition.size(); i++) {
                assertTrue(i == 0 || acceptedPerPosition.get(i) <= acceptedPerPosition.get(i - 1),
                        who + ": a draft's token is accepted only after those before it: " + this);
                sum += acceptedPerPosition.get(i);
            }
            assertEquals(accepted, sum, who + ": every accepted token has a position: " + this);
        }
    }

    @Test
    void metricsCountDraftsAndAcceptedTokensPerPosition() {
        for (ServerProcess s : List.of(plain, suffix, ngram)) {
            completion(s, PROMPT);
        }
        // how deep to draft follows measured step times; on a loaded machine the first request may find drafting
        // not worth it for a while, so each speculating server gets a few requests to show it drafts
        for (ServerProcess s : List.of(suffix, ngram)) {
            for (int more = 0; more < 3 && SpecCounts.of(s).accepted() == 0; more++) {
                completion(s, PROMPT);
            }
        }
        SpecCounts.of(suffix).assertSpeculated("suffix");
        SpecCounts.of(ngram).assertSpeculated("ngram");
        SpecCounts none = SpecCounts.of(plain);
        assertEquals(new SpecCounts(0, 0, 0, List.of()), none, "a server without speculation drafts nothing");
    }

    @Test
    void mistakesInTheConfigStopServeWithOneLineNamingThem() throws Exception {
        record Mistake(String config, String named, String... more) {
        }
        List<Mistake> mistakes = List.of(
                new Mistake("{\"method\":\"nope\"}", "'nope'"),
                new Mistake("{\"method\":\"suffix\"", "not valid JSON"),
                new Mistake("{\"method\":\"draft\"}", "needs \"model\""),
                new Mistake("{\"method\":\"draft\",\"model\":\"/nonexistent/draft-model\"}", "/nonexistent/draft-model"),
                // the router checks it before starting workers that would each fail on it
                new Mistake("{\"method\":\"nope\"}", "'nope'", "--workers", "2"));
        for (Mistake mistake : mistakes) {
            List<String> command = new ArrayList<>(List.of(ServerProcess.root().resolve("xllm").toString(), "serve",
                    "--port", Integer.toString(ServerProcess.freePort()), "--state-dir", Files.createTempDirectory("xllm-spec-state").toString(),
                    "--speculative-config", mistake.config()));
            command.addAll(List.of(mistake.more()));
            Path err = Files.createTempFile("xllm-serve-err", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
            pb.environment().put("XLLM_NO_BUILD", "1");
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("serve " + String.join(" ", command.subList(2, command.size())) + " kept running: " + Files.readString(err));
            }
            // the JVM's own notice of the incubating Vector API aside
            List<String> lines = Files.readAllLines(err).stream().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
            assertEquals(2, p.exitValue(), mistake + ": " + lines);
            assertEquals(1, lines.size(), mistake + ": one line, no stack trace: " + lines);
            assertTrue(lines.get(0).startsWith("xllm: --speculative-config: ") && lines.get(0).contains(mistake.named()),
                    mistake + ": " + lines.get(0));
        }
    }
}
