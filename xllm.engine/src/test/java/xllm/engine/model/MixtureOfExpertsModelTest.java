package xllm.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.moe.ExpertLoadBalancer;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.GenerationResult;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;
import xllm.engine.weights.DType;

/**
 * The mixture-of-experts fixtures beyond their goldens: a sequence's output does not depend on what shares
 * its batch or on how expert work is placed on the compute threads, and the routing counters add up.
 */
class MixtureOfExpertsModelTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen3_moe", "deepseek_v3"})
    void greedyContinuationsAreTheSameAloneAndBatched(String arch) {
        Path dir = TestData.fixture("arch/" + arch);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        List<GenerationRequest> requests = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            int[] greedy = Golden.ints(c.get("greedy_ids"));
            expected.add(greedy);
            requests.add(new GenerationRequest(Golden.ints(c.get("prompt_ids")), greedy(greedy.length)));
        }
        Random random = new Random(7);
        for (int i = 0; i < 3; i++) {
            requests.add(new GenerationRequest(randomIds(random, 5 + 6 * i, 512), greedy(10)));
        }
        try (CausalLM model = ModelLoader.load(dir);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 64, 4)) {
            OfflineGenerator generator = new OfflineGenerator(runner, 256);
            List<int[]> alone = new ArrayList<>();
            for (GenerationRequest r : requests) {
                alone.add(generator.generate(List.of(r), TokenListener.NONE).get(0).tokenIds());
            }
            for (int i = 0; i < expected.size(); i++) {
                assertArrayEquals(expected.get(i), alone.get(i), arch + " golden prompt " + i + " alone");
            }
            List<GenerationResult> together = generator.generate(requests, TokenListener.NONE);
            for (int i = 0; i < requests.size(); i++) {
                assertArrayEquals(alone.get(i), together.get(i).tokenIds(), arch + " prompt " + i + " in a batch of " + requests.size());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"qwen3_moe,", "deepseek_v3,", "qwen3_moe,Q8_0", "deepseek_v3,Q4_0"})
    void logitsAreTheSameWhateverSharesTheBatchAndHoweverExpertsArePlaced(String arch, DType quantization) {
        Path dir = TestData.fixture("arch/" + arch);
        Random random = new Random(11);
        int[] mine = randomIds(random, 9, 512);
        int[] other = randomIds(random, 17, 512);
        try (CausalLM model = ModelLoader.load(dir, quantization);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 64, 4)) {
            float[] alone = lastLogits(runner, List.of(mine), 0);
            float[] batched = lastLogits(runner, List.of(other, mine), 1);
            assertNearlyEqual(alone, batched, arch + ": a prompt's logits depend on its batch");

            List<MoeFeedForward> moe = ((DecoderModel) model).moeLayers();
            for (MoeFeedForward layer : moe) {
                long[] load = layer.tokensPerExpert();
                layer.setPlacement(ExpertLoadBalancer.place(load, layer.numExperts() + 3, pool.threads()));
            }
            float[] placed = lastLogits(runner, List.of(other, mine), 1);
            assertNearlyEqual(alone, placed, arch + ": expert placement changes the logits");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3_moe", "deepseek_v3"})
    void everyTokenIsCountedOncePerChosenExpert(String arch) {
        try (CausalLM model = ModelLoader.load(TestData.fixture("arch/" + arch));
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 64, 4)) {
            List<MoeFeedForward> moe = ((DecoderModel) model).moeLayers();
            assertEquals(2, moe.size(), "sparse layers: both of qwen3_moe's, the two after deepseek_v3's first dense one");
            lastLogits(runner, List.of(randomIds(new Random(3), 13, 512)), 0);
            for (MoeFeedForward layer : moe) {
                assertEquals(13L * layer.topK(), Arrays.stream(layer.tokensPerExpert()).sum());
                layer.resetTokenCounts();
                assertEquals(0L, Arrays.stream(layer.tokensPerExpert()).sum());
            }
        }
    }

    /**
     * Equal up to the last bits: the kernels' arithmetic per element does not depend on the batch, but
     * the Vector API sums a vector's lanes in a different order once C2 compiles a kernel than before,
     * so the same input can differ in its last bits over the JVM's warm-up.
     */
    private static void assertNearlyEqual(float[] expected, float[] actual, String message) {
        double err = Golden.relativeError(actual, 0, expected);
        assertTrue(err < 1e-5, message + ": relative error " + err);
    }

    /** Prefills every prompt in one step and returns the logits of prompt {@code which}. */
    static float[] lastLogits(ModelRunner runner, List<int[]> prompts, int which) {
        return new PromptSteps(runner).lastLogits(prompts)[which];
    }

    static int[] randomIds(Random random, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    private static SamplingParams greedy(int tokens) {
        return SamplingParams.builder().temperature(0).maxTokens(tokens).ignoreEos(true).build();
    }
}
