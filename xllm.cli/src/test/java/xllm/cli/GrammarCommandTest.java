package xllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.cli.CommandLineTest.Run;

/** {@code xllm grammar check} and {@code xllm bench grammar} as a user runs them. */
class GrammarCommandTest {
    @BeforeAll
    static void locateRoot() {
        CommandLineTest.locateRoot();
    }

    @Test
    void checkPrintsOneVerdictPerCase() {
        Run r = CommandLineTest.run("grammar", "check", "--cases",
                CommandLineTest.root.resolve("benchmarks/grammar/cases.jsonl").toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(List.of(
                "{\"accepted\":true}",
                "{\"accepted\":false}",
                "{\"accepted\":false}",
                "{\"unsupported\":\"multipleOf\"}",
                "{\"accepted\":true}",
                "{\"accepted\":false}",
                "{\"accepted\":true}",
                "{\"accepted\":false}",
                "{\"error\":\"rule 'undefined' is used but never defined\"}"), r.out().lines().toList());
    }

    @Test
    void checkWithoutCasesIsAOneLineError() {
        Run r = CommandLineTest.run("grammar", "check");
        assertEquals(2, r.status());
        assertEquals("xllm: grammar check needs --cases FILE", r.err().strip());
    }

    @Test
    void benchPrintsCompileAndMaskTimes() {
        Run r = CommandLineTest.run("bench", "grammar", "--schema",
                CommandLineTest.root.resolve("benchmarks/grammar/order.schema.json").toString(), "--walks", "3", "--tokens", "64");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().matches("(?s).*compile: p50 [0-9.]+ ms, p99 [0-9.]+ ms.*"), r.out());
        assertTrue(r.out().matches("(?s).*mask per token, as served: p50 [0-9.]+ us, p99 [0-9.]+ us.*"), r.out());
    }
}
