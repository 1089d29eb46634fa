package xllm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import xllm.engine.tokenizer.Tokenizer;
import xllm.engine.weights.DType;
import xllm.engine.weights.SafetensorsWriter;

/**
 * {@code xllm synth}: writes a random-weight Hugging Face model of a published shape, with the vocabulary
 * of a given tokenizer, for benchmarks at realistic sizes.
 */
final class SynthCommand {
    static final String USAGE = "usage: xllm synth --shape qwen2.5-0.5b|qwen2.5-1.5b|llama-3.2-1b|qwen3-moe-small --tokenizer DIR --out DIR [--dtype bf16|f32] [--seed S]";

    /** The dimensions of a published model family member; experts 0 for a dense model. */
    private record Shape(String modelType, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim,
                         boolean qkvBias, double ropeTheta, boolean llama3Rope, int maxPositions, Experts experts) {
        Shape(String modelType, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim,
              boolean qkvBias, double ropeTheta, boolean llama3Rope, int maxPositions) {
            this(modelType, hidden, intermediate, layers, heads, kvHeads, headDim, qkvBias, ropeTheta, llama3Rope, maxPositions, null);
        }
    }

    /** A Qwen3-MoE layer's mixture: {@code count} experts of {@code intermediate}, {@code active} per token. */
    private record Experts(int count, int intermediate, int active) {
    }

    private SynthCommand() {
    }

    private static Shape shape(String name) {
        return switch (name) {
            case "qwen2.5-0.5b" -> new Shape("qwen2", 896, 4864, 24, 14, 2, 64, true, 1_000_000, false, 32768);
            case "qwen2.5-1.5b" -> new Shape("qwen2", 1536, 8960, 28, 12, 2, 128, true, 1_000_000, false, 32768);
            case "llama-3.2-1b" -> new Shape("llama", 2048, 8192, 16, 32, 8, 64, false, 500_000, true, 131072);
            // Qwen3-30B-A3B's layer at a third of its width and a quarter of its depth and experts
            case "qwen3-moe-small" -> new Shape("qwen3_moe", 1024, 3072, 12, 16, 4, 128, false, 1_000_000, false, 32768,
                    new Experts(64, 512, 8));
            default -> throw new UsageException("--shape must be qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b or qwen3-moe-small, got \""
                    + name + "\"");
        };
    }

    static int run(String[] argv) throws IOException {
        Args args = Args.parse("synth", argv, 1, Set.of("--shape", "--tokenizer", "--out", "--dtype", "--seed"), Set.of());
        if (!args.has("--shape") || !args.has("--tokenizer") || !args.has("--out")) {
            throw new UsageException(USAGE);
        }
        Shape s = shape(args.string("--shape", ""));
        DType dtype = switch (args.string("--dtype", "bf16")) {
            case "bf16" -> DType.BF16;
            case "f32" -> DType.F32;
            default -> throw new UsageException("--dtype must be bf16 or f32");
        };
        Path tokenizerDir = Path.of(args.string("--tokenizer", ""));
        if (!Files.isRegularFile(tokenizerDir.resolve("tokenizer.json"))) {
            throw new UsageException("--tokenizer " + tokenizerDir + " has no tokenizer.json");
        }
        int vocab = Tokenizer.load(tokenizerDir).vocabSize();
        Path out = Path.of(args.string("--out", ""));
        Files.createDirectories(out);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            if (Files.isRegularFile(tokenizerDir.resolve(f))) {
                Files.copy(tokenizerDir.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        writeConfig(out, s, vocab, dtype);
        List<SafetensorsWriter.Spec> specs = specs(s, vocab, dtype);
        long seed = args.longValue("--seed", 0);
        SafetensorsWriter.write(out.resolve("model.safetensors"), specs, (name, row, values) -> {
            if (name.endsWith("norm.weight")) {
                java.util.Arrays.fill(values, 1f);
                return;
            }
            SplittableRandom random = new SplittableRandom(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L ^ row);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.02);
            }
        });
        long params = specs.stream().mapToLong(sp -> sp.shape().length == 1 ? sp.shape()[0] : sp.shape()[0] * sp.shape()[1]).sum();
        System.out.printf("wrote %s: %s shape, %d parameters, vocab %d, %s%n", out, args.string("--shape", ""), params, vocab, dtype);
        return 0;
    }

    private static List<SafetensorsWriter.Spec> specs(Shape s, int vocab, DType dtype) {
        List<SafetensorsWriter.Spec> specs = new ArrayList<>();
        int q = s.heads() * s.headDim();
        int kv = s.kvHeads() * s.headDim();
        specs.add(new SafetensorsWriter.Spec("model.embed_tokens.weight", dtype, new long[] {vocab, s.hidden()}));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            specs.add(new SafetensorsWriter.Spec(p + "input_layernorm.weight", dtype, new long[] {s.hidden()}));
            specs.add(new SafetensorsWriter.Spec(p + "self_attn.q_proj.weight", dtype, new long[] {q, s.hidden()}));
            specs.add(new SafetensorsWriter.Spec(p + "self_attn.k_proj.weight", dtype, new long[] {kv, s.hidden()}));
            specs.add(new SafetensorsWriter.Spec(p + "self_attn.v_proj.weight", dtype, new long[] {kv, s.hidden()}));
            if (s.qkvBias()) {
                specs.add(new SafetensorsWriter.Spec(p + "self_attn.q_proj.bias", dtype, new long[] {q}));
                specs.add(new SafetensorsWriter.Spec(p + "self_attn.k_proj.bias", dtype, new long[] {kv}));
                specs.add(new SafetensorsWriter.Spec(p + "self_attn.v_proj.bias", dtype, new long[] {kv}));
            }
            if (s.modelType().startsWith("qwen3")) {
                specs.add(new SafetensorsWriter.Spec(p + "self_attn.q_norm.weight", dtype, new long[] {s.headDim()}));
                specs.add(new SafetensorsWriter.Spec(p + "self_attn.k_norm.weight", dtype, new long[] {s.headDim()}));
            }
            specs.add(new SafetensorsWriter.Spec(p + "self_attn.o_proj.weight", dtype, new long[] {s.hidden(), q}));
            specs.add(new SafetensorsWriter.Spec(p + "post_attention_layernorm.weight", dtype, new long[] {s.hidden()}));
            if (s.experts() == null) {
                mlp(specs, p + "mlp.", s.intermediate(), s.hidden(), dtype);
            } else {
                specs.add(new SafetensorsWriter.Spec(p + "mlp.gate.weight", dtype, new long[] {s.experts().count(), s.hidden()}));
                for (int e = 0; e < s.experts().count(); e++) {
                    mlp(specs, p + "mlp.experts." + e + ".", s.experts().intermediate(), s.hidden(), dtype);
                }
            }
        }
        specs.add(new SafetensorsWriter.Spec("model.norm.weight", dtype, new long[] {s.hidden()}));
        return specs;
    }

    private static void mlp(List<SafetensorsWriter.Spec> specs, String prefix, int inner, int hidden, DType dtype) {
        specs.add(new SafetensorsWriter.Spec(prefix + "gate_proj.weight", dtype, new long[] {inner, hidden}));
        specs.add(new SafetensorsWriter.Spec(prefix + "up_proj.weight", dtype, new long[] {inner, hidden}));
        specs.add(new SafetensorsWriter.Spec(prefix + "down_proj.weight", dtype, new long[] {hidden, inner}));
    }

    private static void writeConfig(Path out, Shape s, int vocab, DType dtype) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.putArray("architectures").add(switch (s.modelType()) {
            case "llama" -> "LlamaForCausalLM";
            case "qwen3_moe" -> "Qwen3MoeForCausalLM";
            default -> "Qwen2ForCausalLM";
        });
        c.put("model_type", s.modelType());
        c.put("hidden_size", s.hidden());
        c.put("intermediate_size", s.intermediate());
        c.put("num_hidden_layers", s.layers());
        c.put("num_attention_heads", s.heads());
        c.put("num_key_value_heads", s.kvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", vocab);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", s.ropeTheta());
        if (s.llama3Rope()) {
            ObjectNode r = c.putObject("rope_scaling");
            r.put("rope_type", "llama3");
            r.put("factor", 32.0);
            r.put("low_freq_factor", 1.0);
            r.put("high_freq_factor", 4.0);
            r.put("original_max_position_embeddings", 8192);
        }
        c.put("max_position_embeddings", s.maxPositions());
        if (s.experts() != null) {
            c.put("num_experts", s.experts().count());
            c.put("num_experts_per_tok", s.experts().active());
            c.put("moe_intermediate_size", s.experts().intermediate());
            c.put("norm_topk_prob", true);
            c.put("decoder_sparse_step", 1);
        }
        c.put("tie_word_embeddings", true);
        c.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : "float32");
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 0);
        json.writerWithDefaultPrettyPrinter().writeValue(out.resolve("config.json").toFile(), c);
    }
}
