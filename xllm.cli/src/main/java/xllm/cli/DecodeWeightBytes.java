package xllm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import xllm.engine.model.ModelConfig;
import xllm.engine.weights.DType;
import xllm.engine.weights.GgufFile;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.WeightSource;

/**
 * Bytes of weights one sequence's decode step reads, for {@code bench offline}'s bandwidth figure: every tensor of
 * a dense model, but of a mixture of experts' routed experts only the share its router picks per token (8 of 64 on
 * qwen3-moe-small, whose figure counted all of them and came out at several times the machine's bandwidth).
 */
final class DecodeWeightBytes {
    /** Routed experts: GGUF stacks them per layer ({@code blk.N.ffn_up_exps}), Hugging Face names each one. */
    private static final Pattern ROUTED_EXPERT = Pattern.compile(".*(_exps\\.|\\.experts\\.\\d+\\.).*");

    private DecodeWeightBytes() {
    }

    /**
     * The stored weights' bytes, scaled to {@code quantization}'s width when the model is quantized at load (null:
     * as stored), times the share of them a token reads.
     */
    static double of(Path dir, ModelConfig config, DType quantization) {
        double bytes = storedBytes(dir) * activeShare(dir, config);
        if (quantization == null) {
            return bytes;
        }
        String dtype = config.raw().path("torch_dtype").asText(config.raw().path("dtype").asText("float32"));
        int storedWidth = dtype.equals("float32") ? 4 : 2;
        return bytes / storedWidth * quantization.bytesPerBlock() / quantization.elementsPerBlock();
    }

    private static long storedBytes(Path dir) {
        if (Files.isRegularFile(dir)) {
            return dir.toFile().length();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    /** 1 for a dense model; else the bytes of all but the routed experts, plus their active share, over all bytes. */
    private static double activeShare(Path dir, ModelConfig config) {
        int experts = config.routedExperts();
        int active = config.raw().path("num_experts_per_tok").asInt(0);
        if (experts <= 0 || active <= 0 || active > experts) {
            return 1;
        }
        long routed = 0;
        long all = 0;
        try (WeightSource weights = GgufFile.isGgufFile(dir) ? GgufFile.open(dir) : SafetensorsDirectory.open(dir)) {
            for (String name : weights.names()) {
                long bytes = weights.get(name).data().byteSize();
                all += bytes;
                if (ROUTED_EXPERT.matcher(name).matches()) {
                    routed += bytes;
                }
            }
        }
        return all == 0 ? 1 : (all - routed + (double) routed * active / experts) / all;
    }
}
