package xllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import xllm.engine.model.ModelConfig;

class DecodeWeightBytesTest {
    /** Slack for what the files hold beside the tensors (headers, GGUF's vocabulary): far less than one expert layer. */
    private static final double HEADERS = 16 << 10;

    @Test
    void aDenseModelReadsAllOfItsWeights() throws Exception {
        Path model = repository().resolve("models/pycoder-draft-4m");
        assertEquals(Files.size(model.resolve("model.safetensors")), DecodeWeightBytes.of(model, ModelConfig.forModel(model), null), 0.5);
    }

    @Test
    void anMoeTokenReadsOnlyItsActiveShareOfTheRoutedExperts() throws Exception {
        // fixtures/arch/qwen3_moe: 2 layers of 8 experts (2 active) with gate, up and down of 64 x 32 floats
        long routed = 2L * 8 * 3 * 64 * 32 * Float.BYTES;
        long notRead = routed * 6 / 8;
        Path safetensors = repository().resolve("fixtures/arch/qwen3_moe");
        Path gguf = repository().resolve("fixtures/gguf/qwen3_moe-f32.gguf");
        assertEquals(Files.size(safetensors.resolve("model.safetensors")) - notRead,
                DecodeWeightBytes.of(safetensors, ModelConfig.forModel(safetensors), null), HEADERS);
        assertEquals(Files.size(gguf) - notRead, DecodeWeightBytes.of(gguf, ModelConfig.forModel(gguf), null), HEADERS);
    }

    private static Path repository() {
        return Path.of(Objects.requireNonNull(System.getProperty("xllm.root"), "system property xllm.root is not set: run the tests through ./mvnw"));
    }
}
