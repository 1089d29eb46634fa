package xllm.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ActivationPrecision;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.GenerationResult;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;
import xllm.kv.KvDtype;

/**
 * The bundled BF16 models against Hugging Face transformers (float32 over the bf16 weights): logits at the
 * first and last prompt position with float activations, greedy continuations (with float activations and
 * with activations rounded to bf16, the default where the native kernels run), and the same continuations
 * when all prompts share one batch.
 */
class PycoderFidelityTest {

    @ParameterizedTest
    @ValueSource(strings = {"pycoder-22m", "pycoder-draft-4m"})
    void firstAndLastLogitsMatchReference(String name) {
        Path dir = TestData.model(name);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        try (CausalLM model = ModelLoader.load(dir, null, ActivationPrecision.F32);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            for (JsonNode c : golden.get("cases")) {
                int[] prompt = Golden.ints(c.get("prompt_ids"));
                PromptSteps steps = new PromptSteps(runner);
                double first = Golden.relativeError(steps.logits(prompt, 0, 1), 0, Golden.floats(c.get("first_logits")));
                assertTrue(first < ArchitectureFidelityTest.TOLERANCE, name + " first-position relative error " + first);
                double last = Golden.relativeError(steps.logits(prompt, 0, prompt.length), 0, Golden.floats(c.get("last_logits")));
                assertTrue(last < ArchitectureFidelityTest.TOLERANCE, name + " last-position relative error " + last);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"pycoder-22m,F32,F32", "pycoder-draft-4m,F32,F32", "pycoder-22m,BF16,F32", "pycoder-draft-4m,BF16,F32",
            "pycoder-22m,BF16,F16", "pycoder-draft-4m,BF16,F16"})
    void greedyContinuationsMatchReferenceAloneAndBatched(String name, ActivationPrecision activations, KvDtype kvDtype) {
        Path dir = TestData.model(name);
        JsonNode golden = Golden.read(dir.resolve("golden.json"));
        List<GenerationRequest> requests = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        for (JsonNode c : golden.get("cases")) {
            int[] greedy = Golden.ints(c.get("greedy_ids"));
            expected.add(greedy);
            requests.add(new GenerationRequest(Golden.ints(c.get("prompt_ids")),
                    SamplingParams.builder().temperature(0).maxTokens(greedy.length).ignoreEos(true).build()));
        }
        assumeTrue(activations == ActivationPrecision.F32 || ActivationPrecision.fastest() == ActivationPrecision.BF16,
                "bf16 activations are rounded only by the native AVX-512 BF16 kernels, not in use here ("
                        + Gemm.kernels() + "): this case would re-run the F32 one");
        try (CausalLM model = ModelLoader.load(dir, null, activations);
             ComputePool pool = new ComputePool(2)) {
            assumeTrue(kvDtype == KvDtype.F32 || model.supportsF16Cache(16), "an f16 KV cache needs the native attention kernel");
            greedyContinuations(name, model, pool, kvDtype, requests, expected);
        }
    }

    private static void greedyContinuations(String name, CausalLM model, ComputePool pool, KvDtype kvDtype, List<GenerationRequest> requests,
                                            List<int[]> expected) {
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16, kvDtype)) {
            OfflineGenerator generator = new OfflineGenerator(runner, 512);
            for (int i = 0; i < requests.size(); i++) {
                GenerationResult alone = generator.generate(List.of(requests.get(i)), TokenListener.NONE).get(0);
                assertArrayEquals(expected.get(i), alone.tokenIds(), name + " prompt " + i + " alone");
            }
            List<GenerationResult> together = generator.generate(requests, TokenListener.NONE);
            for (int i = 0; i < requests.size(); i++) {
                assertArrayEquals(expected.get(i), together.get(i).tokenIds(), name + " prompt " + i + " in a batch of " + requests.size());
            }
            assertEquals(0.0, generator.kvUsage(), "all KV blocks returned");
        }
    }

    @org.junit.jupiter.api.Test
    void transposedKeyBlocksAgreeWithSlotLayoutAcrossManyBlocks() {
        // block size 16 stores keys transposed; 8 is not a whole vector and keeps the slot layout
        int[] prompt = new java.util.SplittableRandom(5).ints(150, 100, 8000).toArray();
        try (CausalLM model = ModelLoader.load(TestData.model("pycoder-22m"), null, ActivationPrecision.F32);
             ComputePool pool = new ComputePool(2)) {
            float[][] last = new float[2][];
            int[][] greedy = new int[2][];
            int[] blockSizes = {16, 8};
            for (int i = 0; i < 2; i++) {
                try (ModelRunner runner = new ModelRunner(model, pool, 64, blockSizes[i])) {
                    last[i] = new PromptSteps(runner).logits(prompt, 0, prompt.length);
                    greedy[i] = new OfflineGenerator(runner, 64).generate(List.of(new GenerationRequest(prompt,
                            SamplingParams.builder().temperature(0).maxTokens(24).ignoreEos(true).build())), TokenListener.NONE)
                            .get(0).tokenIds();
                }
            }
            double err = Golden.relativeError(last[0], 0, last[1]);
            assertTrue(err < 1e-5, "layouts disagree by " + err);
            assertArrayEquals(greedy[1], greedy[0]);
        }
    }
}
