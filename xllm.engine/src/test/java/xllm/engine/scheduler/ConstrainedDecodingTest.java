package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;
import xllm.engine.TestData;
import xllm.engine.grammar.Constraints;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCoreTest.Collector;
import xllm.engine.tokenizer.Tokenizer;

/** Constrained generation on the real default model: masks hold in every batch, and outputs end where they may. */
class ConstrainedDecodingTest {
    static final StructuredOutput ASSIGNMENT = new StructuredOutput(StructuredOutput.Kind.GRAMMAR,
            "root ::= \"x = \" [1-9] [0-9]{0,2} \"\\n\"");
    static final StructuredOutput CALL = new StructuredOutput(StructuredOutput.Kind.GRAMMAR,
            "root ::= \"print(\" [a-z_]{1,12} (\", \" [a-z_]{1,12}){0,3} \")\"");
    static final StructuredOutput COLOURS = new StructuredOutput(StructuredOutput.Kind.CHOICE,
            "[\"red\", \"green\", \"blue\"]");

    static CausalLM model;
    static ComputePool pool;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestData.model("pycoder-22m"));
        tokenizer = Tokenizer.forModel(TestData.model("pycoder-22m"));
        pool = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    static GenerateRequest request(String id, String prompt, float temperature, long seed, StructuredOutput c) {
        SamplingParams p = SamplingParams.builder().temperature(temperature).seed(seed).maxTokens(48).build();
        return new GenerateRequest(id, tokenizer.encode(prompt, false), p, 0, -1).withStructuredOutput(c);
    }

    static List<Collector> run(List<GenerateRequest> requests) {
        try (ModelRunner runner = new ModelRunner(model, pool, 512, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new int[] {0}, new EngineCoreTest.CountingMetrics(), null);
            core.enableStructuredOutputs(VocabularyTrie.of(tokenizer, new int[] {0}, runner.vocabSize()));
            List<Collector> out = new ArrayList<>();
            for (GenerateRequest r : requests) {
                Collector c = new Collector(new int[1]);
                out.add(c);
                core.submit(r, new int[0], c, System.nanoTime());
            }
            while (core.step()) {
                // run to the end
            }
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            return out;
        }
    }

    static String text(Collector c) {
        return tokenizer.decode(c.output(), true);
    }

    @Test
    void everyOutputIsASentenceOfItsGrammarAndEndsThere() {
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            requests.add(request("a" + i, "def f(x):\n    ", 1.0f, 11 + i, ASSIGNMENT));
            requests.add(request("c" + i, "import sys\n", 1.0f, 21 + i, CALL));
            requests.add(request("k" + i, "# favourite colour: ", 1.0f, 31 + i, COLOURS));
        }
        List<Collector> out = run(requests);
        Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < requests.size(); i++) {
            GenerateRequest r = requests.get(i);
            Collector c = out.get(i);
            String text = text(c);
            assertTrue(Constraints.compile(r.structuredOutput()).accepts(text), r.requestId() + ": " + text);
            assertEquals(FinishReason.STOP, c.finish, r.requestId() + " ends with the grammar, not the budget: " + text);
            seen.add(text);
        }
        assertTrue(seen.size() > 3, "sampling still varies within the grammar: " + seen);
    }

    @Test
    void masksDoNotBreakBatchInvariance() {
        List<GenerateRequest> requests = List.of(
                request("g", "def area(r):\n    ", 0f, 1, ASSIGNMENT),
                request("s", "import os\n", 0.8f, 7, CALL),
                request("free", "def main():\n", 0.8f, 9, null),
                request("k", "colour = ", 0.7f, 5, COLOURS));
        List<Collector> together = run(requests);
        for (int i = 0; i < requests.size(); i++) {
            Collector alone = run(List.of(requests.get(i))).get(0);
            assertArrayEquals(alone.output(), together.get(i).output(), requests.get(i).requestId());
        }
        assertNotEquals(text(together.get(2)), "", "the free request generates text");
    }

    @Test
    void aConstraintTheEngineCannotCompileIsRefusedAlone() {
        StructuredOutput broken = new StructuredOutput(StructuredOutput.Kind.GRAMMAR, "root ::= undefined");
        List<Collector> out = run(List.of(request("bad", "x = ", 0f, 1, broken), request("ok", "x = ", 0f, 1, null)));
        assertEquals(FinishReason.ABORT, out.get(0).finish);
        assertEquals(0, out.get(0).output().length);
        assertTrue(out.get(1).output().length > 0, "the other request runs on");
    }
}
