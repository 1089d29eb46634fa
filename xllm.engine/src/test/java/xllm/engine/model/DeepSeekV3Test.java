package xllm.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.engine.SafetensorsFixtureWriter;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.runner.ModelRunner;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.Tensor;

/** DeepSeek-V3 specifics: the size of its latent KV cache, YaRN as the real config sets it, and multi-token prediction weights. */
class DeepSeekV3Test {
    @TempDir
    Path tmp;

    /** config.json of the published DeepSeek-V3, the fields the engine reads. */
    private static final String DEEPSEEK_V3_CONFIG = """
            {"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
             "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128, "vocab_size": 129280,
             "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
             "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
             "first_k_dense_replace": 3, "norm_topk_prob": true, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1,
             "max_position_embeddings": 163840, "rms_norm_eps": 1e-06, "rope_theta": 10000,
             "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                              "original_max_position_embeddings": 4096, "type": "yarn"},
             "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                     "weight_block_size": [128, 128]}}
            """;

    @Test
    void latentCacheTakesAFractionOfFullKeyValueCaching() throws IOException {
        ModelConfig fixture = ModelConfig.load(TestData.fixture("arch/deepseek_v3"));
        MlaDimensions.KvBytes small = MlaDimensions.of(fixture).kvBytesPerToken(fixture.numLayers());
        // 3 layers x (32 latent + 8 rope) floats, against 3 layers x 4 heads x (24 key + 16 value) floats
        assertEquals(3 * 40 * 4, small.latentCache());
        assertEquals(3 * 4 * 40 * 4, small.fullAttentionCache());
        try (CausalLM model = ModelLoader.load(TestData.fixture("arch/deepseek_v3"));
             ComputePool pool = new ComputePool(1);
             ModelRunner runner = new ModelRunner(model, pool, 8, 4)) {
            assertEquals(40, model.kvFloatsPerSlot(), "the paged cache holds only the latent and the rope key");
        }

        ModelConfig real = ModelConfig.parse(new ObjectMapper().readTree(DEEPSEEK_V3_CONFIG), new ObjectMapper().createObjectNode());
        MlaDimensions.KvBytes full = MlaDimensions.of(real).kvBytesPerToken(real.numLayers());
        assertEquals(61L * (512 + 64) * 4, full.latentCache());                    // 140,544 bytes
        assertEquals(61L * 128 * (192 + 128) * 4, full.fullAttentionCache());       // 9,994,240 bytes
    }

    @Test
    void yarnOfTheRealConfigScalesLowFrequenciesAndTheSoftmax() throws IOException {
        ModelConfig real = ModelConfig.parse(new ObjectMapper().readTree(DEEPSEEK_V3_CONFIG), new ObjectMapper().createObjectNode());
        double[] inv = real.rope().inverseFrequencies(64);
        double[] plain = RopeScaling.plain(10000).inverseFrequencies(64);
        // correction range for beta 32..1 over 4096 original positions: dimensions 10 .. 23
        for (int i = 0; i <= 10; i++) {
            assertEquals(plain[i], inv[i], 1e-15, "high frequency " + i + " kept");
        }
        for (int i = 23; i < 32; i++) {
            assertEquals(plain[i] / 40, inv[i], 1e-15, "low frequency " + i + " interpolated");
        }
        assertEquals(1f, real.rope().attentionFactor(), "mscale == mscale_all_dim: cos and sin unscaled");
        double mscale = 0.1 * Math.log(40) + 1;
        assertEquals(mscale * mscale / Math.sqrt(192), DeepSeekV3Architecture.softmaxScale(real, MlaDimensions.of(real)), 1e-7);
    }

    @Test
    void multiTokenPredictionLayerLoadsBesideTheModel() throws IOException {
        Path fixture = TestData.fixture("arch/deepseek_v3");
        Files.copy(fixture.resolve("config.json"), tmp.resolve("config.json"));
        SafetensorsFixtureWriter writer = new SafetensorsFixtureWriter();
        try (SafetensorsDirectory weights = SafetensorsDirectory.open(fixture)) {
            for (String name : weights.names()) {
                Tensor t = weights.get(name);
                byte[] bytes = t.data().toArray(ValueLayout.JAVA_BYTE);
                writer.add(name, "F32", t.shape(), bytes);
                if (name.startsWith("model.layers.2.")) {
                    writer.add(name.replace("model.layers.2.", "model.layers.3."), "F32", t.shape(), bytes);
                }
            }
            writer.add("model.layers.3.embed_tokens.weight", "F32", new long[] {512, 64},
                    weights.get("model.embed_tokens.weight").data().toArray(ValueLayout.JAVA_BYTE));
            writer.add("model.layers.3.shared_head.head.weight", "F32", new long[] {512, 64},
                    weights.get("lm_head.weight").data().toArray(ValueLayout.JAVA_BYTE));
        }
        float[] ones = new float[64];
        Arrays.fill(ones, 1f);
        writer.addF32("model.layers.3.enorm.weight", new long[] {64}, ones)
                .addF32("model.layers.3.hnorm.weight", new long[] {64}, ones)
                .addF32("model.layers.3.shared_head.norm.weight", new long[] {64}, ones)
                .addF32("model.layers.3.eh_proj.weight", new long[] {64, 128}, new float[64 * 128])
                .write(tmp.resolve("model.safetensors"));

        JsonNode golden = Golden.read(fixture.resolve("golden.json")).get("cases").get(0);
        int[] prompt = Golden.ints(golden.get("prompt_ids"));
        try (CausalLM model = ModelLoader.load(tmp);
             ComputePool pool = new ComputePool(2);
             ModelRunner runner = new ModelRunner(model, pool, 16, 4)) {
            DecoderModel deepseek = assertInstanceOf(DecoderModel.class, model);
            assertEquals(3, deepseek.numLayers(), "the prediction module is not a layer of the main model");
            assertEquals(1, deepseek.mtpHeads().size());
            MtpHead mtp = deepseek.mtpHeads().get(0);
            assertEquals(128, mtp.combine().cols());
            assertInstanceOf(MoeFeedForward.class, mtp.layer().feedForward());
            assertInstanceOf(MlaAttention.class, mtp.layer().attention());
            float[] logits = MixtureOfExpertsModelTest.lastLogits(runner, java.util.List.of(prompt), 0);
            double err = Golden.relativeError(logits, 0, Golden.floats(golden.get("logits").get(prompt.length - 1)));
            assertTrue(err < ArchitectureFidelityTest.TOLERANCE, "main model unchanged by the MTP weights: " + err);
        }
        try (CausalLM model = ModelLoader.load(fixture)) {
            assertTrue(((DecoderModel) model).mtpHeads().isEmpty(), "the fixture ships without its MTP layer");
        }
    }
}
