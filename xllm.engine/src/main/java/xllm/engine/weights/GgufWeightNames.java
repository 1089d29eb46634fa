package xllm.engine.weights;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A GGUF file seen through Hugging Face tensor names, so the same model builders load both formats. */
public final class GgufWeightNames implements WeightSource {
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    /** An expert's matrix, which GGUF stores as entry {@code expert} of one 3-D tensor per layer and projection. */
    private static final Pattern EXPERT = Pattern.compile("model\\.layers\\.(\\d+)\\.mlp\\.experts\\.(\\d{1,9})\\.(gate|up|down)_proj\\.weight");

    private final GgufFile file;

    public GgufWeightNames(GgufFile file) {
        this.file = file;
    }

    public GgufFile file() {
        return file;
    }

    @Override
    public Optional<Tensor> find(String hfName) {
        Matcher expert = EXPERT.matcher(hfName);
        if (expert.matches()) {
            int index = Integer.parseInt(expert.group(2));
            return file.find("blk." + expert.group(1) + ".ffn_" + expert.group(3) + "_exps.weight")
                    .filter(stack -> stack.rank() == 3 && index < stack.shape()[0])
                    .map(stack -> stack.slice(hfName, index));
        }
        String name = ggufName(hfName);
        return name == null ? Optional.empty() : file.find(name);
    }

    /** The GGUF name of a Hugging Face tensor name, or null when GGUF has no counterpart. */
    static String ggufName(String hf) {
        switch (hf) {
            case "model.embed_tokens.weight":
                return "token_embd.weight";
            case "lm_head.weight":
                return "output.weight";
            case "model.norm.weight":
                return "output_norm.weight";
            default:
                break;
        }
        Matcher m = LAYER.matcher(hf);
        if (!m.matches()) {
            return null;
        }
        String part = switch (m.group(2)) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "post_attention_layernorm.weight" -> "ffn_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.q_proj.bias" -> "attn_q.bias";
            case "self_attn.k_proj.bias" -> "attn_k.bias";
            case "self_attn.v_proj.bias" -> "attn_v.bias";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "self_attn.q_norm.weight" -> "attn_q_norm.weight";
            case "self_attn.k_norm.weight" -> "attn_k_norm.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            case "mlp.gate.weight" -> "ffn_gate_inp.weight";
            default -> null;
        };
        return part == null ? null : "blk." + m.group(1) + "." + part;
    }

    @Override
    public Set<String> names() {
        return file.names();
    }

    @Override
    public void close() {
        file.close();
    }
}
