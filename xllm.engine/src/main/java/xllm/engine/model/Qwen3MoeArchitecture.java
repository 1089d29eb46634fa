package xllm.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.moe.SoftmaxRouter;
import xllm.engine.weights.WeightSource;

/**
 * Qwen3-MoE ({@code model_type} qwen3_moe): Qwen3 attention with q/k norms, and a softmax-routed
 * mixture of experts in every layer that Hugging Face makes sparse: not listed in
 * {@code mlp_only_layers} and {@code (layer + 1) % decoder_sparse_step == 0}; the others keep a dense MLP.
 * Used by the loading thread.
 */
final class Qwen3MoeArchitecture {
    private Qwen3MoeArchitecture() {
    }

    static CausalLM build(ModelConfig c, WeightSource w) {
        JsonNode raw = c.raw();
        int hidden = c.hiddenSize();
        // config files spell it num_experts; transformers 5 writes num_local_experts
        int numExperts = raw.hasNonNull("num_experts") ? ModelLoader.positiveField(c, "num_experts")
                : ModelLoader.positiveField(c, "num_local_experts");
        int topK = ModelLoader.positiveField(c, "num_experts_per_tok");
        int moeInner = ModelLoader.positiveField(c, "moe_intermediate_size");
        boolean normalize = raw.path("norm_topk_prob").asBoolean(false);
        int sparseStep = raw.path("decoder_sparse_step").asInt(1);
        Set<Integer> denseLayers = new HashSet<>();
        raw.path("mlp_only_layers").forEach(n -> denseLayers.add(n.asInt()));

        WeightMatrix embedding = ModelLoader.embedding(c, w, "model.embed_tokens.weight");
        Rope rope = c.rope().ropeFor(c.headDim());
        List<DecoderLayer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            boolean sparse = !denseLayers.contains(l) && sparseStep > 0 && (l + 1) % sparseStep == 0;
            FeedForward ffn = sparse
                    ? new MoeFeedForward(ModelLoader.matrix(w, p + "mlp.gate.weight", numExperts, hidden),
                            new SoftmaxRouter(numExperts, topK, normalize),
                            ModelLoader.experts(w, p + "mlp.experts.", numExperts, moeInner, hidden), null)
                    : ModelLoader.denseMlp(w, p + "mlp.", c.intermediateSize(), hidden);
            layers.add(new DecoderLayer(ModelLoader.vector(w, p + "input_layernorm.weight", hidden),
                    ModelLoader.gqaAttention(c, w, p, rope),
                    ModelLoader.vector(w, p + "post_attention_layernorm.weight", hidden), ffn));
        }
        return new DecoderModel(c, w, embedding, layers, ModelLoader.vector(w, "model.norm.weight", hidden),
                ModelLoader.lmHead(c, w, embedding));
    }
}
