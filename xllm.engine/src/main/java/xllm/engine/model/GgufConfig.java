package xllm.engine.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import xllm.engine.weights.GgufFile;
import xllm.engine.weights.ModelFileException;

/** The Hugging Face config a GGUF file's metadata describes (llama, qwen2, qwen3 and qwen3moe architectures). */
final class GgufConfig {
    private GgufConfig() {
    }

    static ModelConfig from(GgufFile gguf) {
        String arch = gguf.string("general.architecture");
        if (!List.of("llama", "qwen2", "qwen3", "qwen3moe").contains(arch)) {
            throw new ModelFileException(gguf.path(), "unsupported GGUF architecture \"" + arch + "\" (supported: llama, qwen2, qwen3, qwen3moe)");
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("hidden_size", integer(gguf, arch + ".embedding_length"));
        if (arch.equals("qwen3moe")) {
            c.put("model_type", "qwen3_moe");
            c.put("num_experts", integer(gguf, arch + ".expert_count"));
            c.put("num_experts_per_tok", integer(gguf, arch + ".expert_used_count"));
            c.put("moe_intermediate_size", integer(gguf, arch + ".expert_feed_forward_length"));
            // llama.cpp's qwen3moe graph always renormalizes the chosen experts' weights, as Qwen3-MoE models ask
            c.put("norm_topk_prob", true);
            c.put("intermediate_size", gguf.number(arch + ".feed_forward_length").map(Number::intValue)
                    .orElse(integer(gguf, arch + ".expert_feed_forward_length")));
        } else {
            c.put("model_type", arch);
            c.put("intermediate_size", integer(gguf, arch + ".feed_forward_length"));
        }
        c.put("num_hidden_layers", integer(gguf, arch + ".block_count"));
        c.put("num_attention_heads", integer(gguf, arch + ".attention.head_count"));
        c.put("num_key_value_heads", gguf.number(arch + ".attention.head_count_kv").map(Number::intValue)
                .orElse(integer(gguf, arch + ".attention.head_count")));
        gguf.number(arch + ".attention.key_length").ifPresent(n -> c.put("head_dim", n.intValue()));
        c.put("rms_norm_eps", gguf.number(arch + ".attention.layer_norm_rms_epsilon").map(Number::doubleValue).orElse(1e-6));
        c.put("rope_theta", gguf.number(arch + ".rope.freq_base").map(Number::doubleValue).orElse(10000.0));
        c.put("max_position_embeddings", gguf.number(arch + ".context_length").map(Number::intValue).orElse(4096));
        int vocab = gguf.find("token_embd.weight").orElseThrow(() ->
                new ModelFileException(gguf.path(), "has no token_embd.weight")).dim(0);
        c.put("vocab_size", vocab);
        c.put("tie_word_embeddings", gguf.find("output.weight").isEmpty());
        gguf.number("tokenizer.ggml.bos_token_id").ifPresent(n -> c.put("bos_token_id", n.intValue()));
        gguf.number("tokenizer.ggml.eos_token_id").ifPresent(n -> c.put("eos_token_id", n.intValue()));
        try {
            return ModelConfig.parse(c, json.createObjectNode());
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(gguf.path(), e.getMessage());
        }
    }

    private static int integer(GgufFile gguf, String key) {
        return gguf.number(key).map(Number::intValue)
                .orElseThrow(() -> new ModelFileException(gguf.path(), "metadata " + key + " is missing"));
    }
}
