package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import xllm.api.FinishReason;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;

/** Offline generation is the serving step driven to the end: a request that cannot fit fails alone and costs nothing. */
class OfflineGeneratorTest {
    private static final SamplingParams GREEDY = SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build();

    @Test
    void aRequestTooLargeForTheCacheFailsWithoutLeavingBlocksOrRequestsBehind() {
        try (CausalLM model = ModelLoader.load(TestData.fixture("arch/qwen2"));
             ComputePool pool = new ComputePool(1);
             ModelRunner runner = new ModelRunner(model, pool, 4, 4)) {
            OfflineGenerator generator = new OfflineGenerator(runner, 64);
            int[] small = {5, 6, 7};
            int[] before = generator.generate(List.of(new GenerationRequest(small, GREEDY)), TokenListener.NONE).get(0).tokenIds();

            int[] tooLong = new int[20]; // 20 prompt tokens need 5 blocks of 4; the cache has 4
            java.util.Arrays.fill(tooLong, 9);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> generator.generate(List.of(new GenerationRequest(tooLong, GREEDY)), TokenListener.NONE));
            assertTrue(e.getMessage().contains("KV cache too small"), e.getMessage());
            assertEquals(0.0, generator.kvUsage(), "the failed request holds no blocks");

            GenerationResult after = generator.generate(List.of(new GenerationRequest(small, GREEDY)), TokenListener.NONE).get(0);
            assertArrayEquals(before, after.tokenIds(), "the generator still serves, with the same output");
            assertEquals(FinishReason.LENGTH, after.finishReason());
        }
    }
}
