package xllm.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.moe.GroupLimitedRouter;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.weights.LoadedWeights;

/**
 * DeepSeek-V3 ({@code model_type} deepseek_v3), from Hugging Face or the original checkpoint (same tensor
 * names; FP8 weights arrive dequantized): latent attention with a compressed KV cache in every layer; a
 * dense MLP in the first {@code first_k_dense_replace} layers, then group-limited sigmoid routing over
 * {@code n_routed_experts} plus shared experts; multi-token prediction modules after the last layer are
 * loaded when present. Missing routing fields take Hugging Face's defaults. Used by the loading thread.
 */
final class DeepSeekV3Architecture {
    private DeepSeekV3Architecture() {
    }

    static CausalLM build(ModelConfig c, LoadedWeights w) {
        JsonNode raw = c.raw();
        int hidden = c.hiddenSize();
        MlaDimensions dims = MlaDimensions.of(c);
        Rope rope = c.rope().ropeFor(dims.qkRopeHeadDim());
        float scale = softmaxScale(c, dims);
        boolean interleaved = raw.path("rope_interleave").asBoolean(true);
        int firstSparse = raw.path("first_k_dense_replace").asInt(3);

        WeightMatrix embedding = ModelLoader.embedding(c, w, "model.embed_tokens.weight");
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            layers.add(layer(c, w, l, l >= firstSparse, dims, rope, scale, interleaved));
        }
        WeightMatrix lmHead = ModelLoader.lmHead(c, w, embedding);
        List<MtpHead> mtp = new ArrayList<>();
        for (int i = 0; i < raw.path("num_nextn_predict_layers").asInt(0); i++) {
            int l = c.numLayers() + i;
            String p = "model.layers." + l + ".";
            if (w.find(p + "eh_proj.weight").isEmpty()) {
                break; // converted checkpoints often drop the prediction modules
            }
            WeightMatrix head = w.find(p + "shared_head.head.weight").isPresent()
                    ? ModelLoader.matrix(w, p + "shared_head.head.weight", c.vocabSize(), hidden) : lmHead;
            WeightMatrix mtpEmbedding = w.find(p + "embed_tokens.weight").isPresent()
                    ? ModelLoader.lookupMatrix(w, p + "embed_tokens.weight", c.vocabSize(), hidden) : embedding;
            mtp.add(new MtpHead(mtpEmbedding,
                    ModelLoader.vector(w, p + "enorm.weight", hidden),
                    ModelLoader.vector(w, p + "hnorm.weight", hidden),
                    ModelLoader.matrix(w, p + "eh_proj.weight", hidden, 2 * hidden),
                    layer(c, w, l, l >= firstSparse, dims, rope, scale, interleaved),
                    ModelLoader.vector(w, p + "shared_head.norm.weight", hidden), head));
        }
        return new DecoderModel(c, w, embedding, layers, ModelLoader.vector(w, "model.norm.weight", hidden), lmHead, mtp);
    }

    /** {@code 1/sqrt(qk_head_dim)}, times YaRN's mscale squared when the rope is scaled with {@code mscale_all_dim}, as Hugging Face does. */
    static float softmaxScale(ModelConfig c, MlaDimensions dims) {
        double scale = 1.0 / Math.sqrt(dims.qkHeadDim());
        RopeScaling r = c.rope();
        if (!r.type().equals("default") && r.mscaleAllDim() != 0) {
            double m = RopeScaling.yarnMscale(r.factor(), r.mscaleAllDim());
            scale *= m * m;
        }
        return (float) scale;
    }

    private static DecoderLayer layer(ModelConfig c, LoadedWeights w, int l, boolean sparse, MlaDimensions d,
                                      Rope rope, float scale, boolean interleaved) {
        int hidden = c.hiddenSize();
        String p = "model.layers." + l + ".";
        String a = p + "self_attn.";
        int qRows = d.numHeads() * d.qkHeadDim();
        boolean lora = d.qLoraRank() > 0;
        MlaAttention attention = new MlaAttention(d,
                lora ? ModelLoader.matrix(w, a + "q_a_proj.weight", d.qLoraRank(), hidden) : null,
                lora ? ModelLoader.vector(w, a + "q_a_layernorm.weight", d.qLoraRank()) : null,
                lora ? ModelLoader.matrix(w, a + "q_b_proj.weight", qRows, d.qLoraRank())
                        : ModelLoader.matrix(w, a + "q_proj.weight", qRows, hidden),
                ModelLoader.matrix(w, a + "kv_a_proj_with_mqa.weight", d.latentFloatsPerSlot(), hidden),
                ModelLoader.vector(w, a + "kv_a_layernorm.weight", d.kvLoraRank()),
                KvUpProjection.of(w.get(a + "kv_b_proj.weight"), d, w),
                ModelLoader.matrix(w, a + "o_proj.weight", hidden, d.numHeads() * d.vHeadDim()),
                rope, interleaved, scale);
        FeedForward ffn = sparse ? moe(c, w, p + "mlp.") : ModelLoader.denseMlp(w, p + "mlp.", c.intermediateSize(), hidden);
        return new DecoderLayer(ModelLoader.vector(w, p + "input_layernorm.weight", hidden), attention,
                ModelLoader.vector(w, p + "post_attention_layernorm.weight", hidden), ffn);
    }

    private static MoeFeedForward moe(ModelConfig c, LoadedWeights w, String p) {
        JsonNode raw = c.raw();
        int hidden = c.hiddenSize();
        int experts = ModelLoader.positiveField(c, "n_routed_experts");
        int inner = ModelLoader.positiveField(c, "moe_intermediate_size");
        int shared = raw.path("n_shared_experts").asInt(1);
        GroupLimitedRouter router = new GroupLimitedRouter(experts, ModelLoader.positiveField(c, "num_experts_per_tok"),
                raw.path("n_group").asInt(8), raw.path("topk_group").asInt(4),
                raw.path("norm_topk_prob").asBoolean(true),
                (float) raw.path("routed_scaling_factor").asDouble(2.5),
                ModelLoader.optionalVector(w, p + "gate.e_score_correction_bias", experts));
        return new MoeFeedForward(ModelLoader.matrix(w, p + "gate.weight", experts, hidden), router,
                ModelLoader.experts(w, p + "experts.", experts, inner, hidden),
                shared > 0 ? ModelLoader.denseMlp(w, p + "shared_experts.", inner * shared, hidden) : null);
    }
}
