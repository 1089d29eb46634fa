package xllm.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.GenerationResult;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;

/** Each architecture fixture against the logits and greedy continuations of Hugging Face transformers. */
class ArchitectureFidelityTest {
    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen2", "qwen3", "qwen3_moe", "deepseek_v3"})
    void logitsAtEveryPositionMatchReference(String arch) {
        Path dir = TestData.fixture("arch/" + arch);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        try (CausalLM model = ModelLoader.load(dir);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 64, 4)) {
            int vocab = model.config().vocabSize();
            for (JsonNode c : golden.get("cases")) {
                int[] prompt = Golden.ints(c.get("prompt_ids"));
                JsonNode logits = c.get("logits");
                // one token per step: every position's logits, read back through the paged cache
                PromptSteps steps = new PromptSteps(runner);
                for (int pos = 0; pos < prompt.length; pos++) {
                    float[] out = steps.logits(prompt, pos, 1);
                    double err = Golden.relativeError(out, 0, Golden.floats(logits.get(pos)));
                    assertTrue(err < TOLERANCE, arch + " position " + pos + " relative error " + err);
                }
                // the whole prompt as one prefill chunk: its last position
                float[] out = steps.logits(prompt, 0, prompt.length);
                double err = Golden.relativeError(out, 0, Golden.floats(logits.get(prompt.length - 1)));
                assertTrue(err < TOLERANCE, arch + " prefill relative error " + err);
                assertTrue(vocab == logits.get(0).size());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3", "qwen2", "qwen3", "qwen3_moe", "deepseek_v3"})
    void greedyContinuationMatchesReference(String arch) {
        Path dir = TestData.fixture("arch/" + arch);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        try (CausalLM model = ModelLoader.load(dir);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 64, 4)) {
            OfflineGenerator generator = new OfflineGenerator(runner, 256);
            for (JsonNode c : golden.get("cases")) {
                int[] expected = Golden.ints(c.get("greedy_ids"));
                SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(expected.length).ignoreEos(true).build();
                List<GenerationResult> results = generator.generate(
                        List.of(new GenerationRequest(Golden.ints(c.get("prompt_ids")), greedy)), TokenListener.NONE);
                assertArrayEquals(expected, results.get(0).tokenIds(), arch + " greedy continuation");
            }
        }
    }
}
