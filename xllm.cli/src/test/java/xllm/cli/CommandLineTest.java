package xllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The command line as a user types it: the generate contract other tools rely on, and one-line errors. */
class CommandLineTest {
    record Run(int status, String out, String err) {
    }

    static Path root;

    @BeforeAll
    static void locateRoot() {
        root = Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"));
        System.setProperty("xllm.home", root.toString());
    }

    static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int status = Main.run(args);
            return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void generateJsonIsOneLineWithTheGoldenContinuation() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(root.resolve("models/pycoder-22m/golden.json").toFile()).get("cases").get(0);
        Run r = run("generate", "--prompt", golden.get("prompt").asText(), "--max-tokens", "32", "--temperature", "0",
                "--ignore-eos", "--output", "json");
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.out().lines().count(), "exactly one line on stdout: " + r.out());
        JsonNode line = new ObjectMapper().readTree(r.out());
        assertEquals(golden.get("prompt_ids"), line.get("prompt_ids"));
        assertEquals(golden.get("greedy_ids"), line.get("token_ids"));
        assertEquals(golden.get("greedy_text").asText(), line.get("text").asText());
        assertEquals("length", line.get("finish_reason").asText());
    }

    @Test
    void tokenizePrintsIds() {
        Run r = run("tokenize", "--text", "def fibonacci(n):");
        assertEquals(0, r.status(), r.err());
        assertEquals("{\"ids\":[334,286,515,264,1188,3950,689,939]}", r.out().strip());
    }

    @Test
    void benchmarksPrintTheirFigures() throws Exception {
        Run membw = run("bench", "membw", "--mb", "16");
        assertEquals(0, membw.status(), membw.err());
        assertTrue(membw.out().matches("(?s)copy bandwidth: [0-9.]+ GB/s.*\nread bandwidth: [0-9.]+ GB/s.*"), membw.out());
        Run peak = run("bench", "peak", "--ms", "20");
        // where a native library runs, the FMA ceiling of its vector width is measured; else the command says why not
        assertTrue(peak.status() == 0 ? peak.out().matches("(?s)kernels: native .*\nfp32 FMA, [0-9]+-bit .* [0-9.]+ GFLOP/s on 1 thread, +[0-9.]+ GFLOP/s on [0-9]+ threads\n.*")
                : peak.out().contains("no native kernel library runs on this CPU"), peak.out());
        Path model = root.resolve("models/pycoder-draft-4m");
        Run offline = run("bench", "offline", "--model", model.toString(),
                "--batch", "1,4", "--prompt-len", "32", "--gen-len", "8", "--repeats", "1", "--output", "json");
        assertEquals(0, offline.status(), offline.err());
        JsonNode result = new ObjectMapper().readTree(offline.out());
        assertTrue(result.get("prefill_tok_s").asDouble() > 0 && result.at("/decode_tok_s/4").asDouble() > 0, offline.out());

        // the bench ran in this JVM: its peak RSS holds the weights, and no more than the heap, the weights and
        // a generous gigabyte of JVM overhead (code, metaspace, stacks, mapped files)
        long weightBytes = Files.size(model.resolve("model.safetensors"));
        long peakRssMb = result.get("peak_rss_mb").asLong();
        long boundMb = (Runtime.getRuntime().maxMemory() + weightBytes) / (1 << 20) + 1024;
        assertTrue(peakRssMb > weightBytes / (1 << 20) && peakRssMb < boundMb,
                "peak_rss_mb " + peakRssMb + " outside (" + weightBytes / (1 << 20) + ", " + boundMb + ")");

        // batch-1 decode reads every weight once a token; both figures are rounded to 0.1
        double gbps = result.get("decode_gbps").asDouble();
        double expectedGbps = result.at("/decode_tok_s/1").asDouble() * weightBytes / 1e9;
        assertTrue(gbps > 0 && Double.isFinite(gbps), offline.out());
        assertEquals(expectedGbps, gbps, 0.06, "decode_gbps is decode_tok_s at batch 1 times the " + weightBytes + " weight bytes");
    }

    @Test
    void mistakesGetOneLineNamingTheProblem() {
        Run unknown = run("generate", "--prompt", "x", "--max-tokenz", "3");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("--max-tokenz") && unknown.err().strip().lines().count() == 1, unknown.err());
        Run badId = run("generate", "--prompt-ids", "1,99999");
        assertEquals(2, badId.status());
        assertTrue(badId.err().contains("99999"), badId.err());
        Run missing = run("generate", "--model", "/nonexistent/model", "--prompt", "x");
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("/nonexistent/model"), missing.err());
        Run temperature = run("generate", "--prompt", "x", "--temperature", "-1");
        assertEquals(2, temperature.status());
        assertTrue(temperature.err().contains("temperature"), temperature.err());
        Run kvDtype = run("generate", "--prompt", "x", "--kv-cache-dtype", "fp8");
        assertEquals(2, kvDtype.status());
        assertTrue(kvDtype.err().contains("fp8") && kvDtype.err().strip().lines().count() == 1, kvDtype.err());
        Run command = run("frobnicate");
        assertEquals(2, command.status());
        assertTrue(command.err().contains("frobnicate"), command.err());
    }

    @Test
    void serveRefusesAnOfflineMaxBatchThatIsNeitherAutoNorABatchSize() {
        for (String value : new String[] {"lots", "0", "-3"}) {
            Run r = run("serve", "--port", "0", "--offline-max-batch", value);
            assertEquals(2, r.status(), value);
            assertTrue(r.err().contains("--offline-max-batch") && r.err().contains(value) && r.err().strip().lines().count() == 1, r.err());
        }
    }
}
