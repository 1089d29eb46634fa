package xllm.engine.weights;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.engine.TestData;
import xllm.engine.model.ModelLoader;

/** Damaged or malicious model files are refused with one line naming the file and the problem. */
class HostileModelFileTest {
    @TempDir
    Path tmp;

    private Path safetensors(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path file = tmp.resolve("model.safetensors");
        Files.write(file, b.array());
        return file;
    }

    private void assertRejected(Path file, String problem) {
        try (Arena arena = Arena.ofConfined()) {
            ModelFileException e = assertThrows(ModelFileException.class, () -> SafetensorsFile.open(file, arena));
            assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
            assertTrue(e.getMessage().contains(problem), "names the problem '" + problem + "': " + e.getMessage());
            assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertRejected(file, "truncated");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(file, b.array());
        assertRejected(file, "header length");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        assertRejected(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "outside the data section");
    }

    @Test
    void shapeDisagreesWithByteSize() throws IOException {
        assertRejected(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[0,16]}}", 16), "needs 36 bytes");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(safetensors("{\"w\":{\"dtype\":\"F8_E9M9\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4), "unsupported dtype F8_E9M9");
    }

    @Test
    void headerNotJson() throws IOException {
        assertRejected(safetensors("{\"w\": [", 0), "not valid JSON");
    }

    @Test
    void negativeOrOverflowingShape() throws IOException {
        assertRejected(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "invalid dimension");
        assertRejected(safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4), "overflows");
    }

    @Test
    void truncatedShardOfARealModel() throws IOException {
        Path source = TestData.fixture("arch/qwen2");
        Path copy = Files.createDirectory(tmp.resolve("qwen2"));
        Files.copy(source.resolve("config.json"), copy.resolve("config.json"));
        byte[] weights = Files.readAllBytes(source.resolve("model.safetensors"));
        Files.write(copy.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelLoader.load(copy));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("outside the data section"), e.getMessage());
    }

    @Test
    void configWithoutRequiredField() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("broken"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":64}");
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelLoader.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("num_attention_heads"), e.getMessage());
    }

    @Test
    void unsupportedArchitecture() throws IOException {
        Path source = TestData.fixture("arch/qwen2");
        Path dir = Files.createDirectory(tmp.resolve("other"));
        Files.writeString(dir.resolve("config.json"), Files.readString(source.resolve("config.json")).replace("\"qwen2\"", "\"gpt_bigcode\""));
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelLoader.load(dir));
        assertTrue(e.getMessage().contains("unsupported model_type \"gpt_bigcode\""), e.getMessage());
    }
}
