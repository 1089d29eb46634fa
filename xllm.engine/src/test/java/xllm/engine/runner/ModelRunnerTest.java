package xllm.engine.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.model.StepBatch;

/** The runner executes exactly the step it is given, and refuses one that names memory it does not have. */
class ModelRunnerTest {
    private static final int[] PROMPT = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    private static CausalLM model;
    private static ComputePool pool;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestData.fixture("arch/qwen2"));
        pool = new ComputePool(1);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    @Test
    void aStepNamingBlocksOutsideTheArenaIsRefusedBeforeAnyKernelReadsThem() {
        try (ModelRunner runner = new ModelRunner(model, pool, 4, 4)) {
            StepBatch.Builder step = new StepBatch.Builder();
            step.add(0, PROMPT, 0, PROMPT.length, 0, new int[] {0, 1, 7}, 3, true);
            IllegalArgumentException outside = assertThrows(IllegalArgumentException.class, () -> runner.execute(step.batch()));
            assertTrue(outside.getMessage().contains("block 7 of 4"), outside.getMessage());

            step.clear().add(0, PROMPT, 0, PROMPT.length, 0, new int[] {0, 1}, 2, true);
            IllegalArgumentException tooFew = assertThrows(IllegalArgumentException.class, () -> runner.execute(step.batch()));
            assertTrue(tooFew.getMessage().contains("position 8"), tooFew.getMessage());
        }
    }

    @Test
    void outputRowsFollowTheEntriesThatSample() {
        try (ModelRunner runner = new ModelRunner(model, pool, 8, 4)) {
            StepBatch.Builder step = new StepBatch.Builder();
            // a prefill chunk that samples nothing, then a whole prompt that does
            step.add(10, PROMPT, 0, 4, 0, new int[] {0}, 1, false);
            step.add(11, PROMPT, 0, PROMPT.length, 0, new int[] {4, 5, 6}, 3, true);
            StepOutput output = runner.execute(step.batch());
            assertEquals(-1, output.logitsOffset(0));
            assertEquals(0, output.logitsOffset(1));
            assertEquals(11, output.batch().sequenceId(1));
            float[] together = java.util.Arrays.copyOf(output.logits(), output.vocabSize());

            step.clear().add(12, PROMPT, 0, PROMPT.length, 0, new int[] {1, 2, 3}, 3, true);
            float[] alone = java.util.Arrays.copyOf(runner.execute(step.batch()).logits(), runner.vocabSize());
            for (int i = 0; i < alone.length; i++) {
                assertEquals(alone[i], together[i], 1e-5f * Math.max(1f, Math.abs(alone[i])), "logit " + i);
            }
        }
    }
}
