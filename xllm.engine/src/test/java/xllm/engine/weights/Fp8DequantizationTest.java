package xllm.engine.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.engine.SafetensorsFixtureWriter;
import xllm.engine.kernel.WeightMatrix;

/** FP8 E4M3 weights with 2-D block scales, as DeepSeek-V3 ships them, come out as the F32 values they encode. */
class Fp8DequantizationTest {
    @TempDir
    Path dir;

    @Test
    void e4m3DecodesKnownBitPatterns() {
        assertEquals(0f, Tensor.e4m3ToFloat((byte) 0x00));
        assertEquals(1f, Tensor.e4m3ToFloat((byte) 0x38));
        assertEquals(-2f, Tensor.e4m3ToFloat((byte) 0xC0));
        assertEquals(1.5f, Tensor.e4m3ToFloat((byte) 0x3C));
        assertEquals(448f, Tensor.e4m3ToFloat((byte) 0x7E), "largest finite value");
        assertEquals(0x1p-6f, Tensor.e4m3ToFloat((byte) 0x08), "smallest normal");
        assertEquals(0x1p-9f, Tensor.e4m3ToFloat((byte) 0x01), "smallest subnormal");
        assertEquals(-0.875f * 0x1p-6f, Tensor.e4m3ToFloat((byte) 0x87), "largest negative subnormal");
        assertTrue(Float.isNaN(Tensor.e4m3ToFloat((byte) 0x7F)));
        assertTrue(Float.isNaN(Tensor.e4m3ToFloat((byte) 0xFF)));
    }

    @Test
    void blockScaledWeightDequantizesThroughTheLoader() {
        // a 3x5 weight in 2x4 blocks: a 2x2 grid of scales, the last row and column of blocks partial
        byte[] w = {
            0x38, 0x40, (byte) 0xC0, 0x3C, 0x7E,
            0x00, 0x01, 0x08, 0x30, (byte) 0xB8,
            0x44, 0x48, 0x38, 0x38, 0x38,
        };
        float[] scaleInv = {0.5f, 2f, 3f, 0.25f};
        new SafetensorsFixtureWriter()
                .add("layer.weight", "F8_E4M3", new long[] {3, 5}, w)
                .addF32("layer.weight_scale_inv", new long[] {2, 2}, scaleInv)
                .write(dir.resolve("model.safetensors"));
        float[][] expected = {
            {1f * 0.5f, 2f * 0.5f, -2f * 0.5f, 1.5f * 0.5f, 448f * 2f},
            {0f, 0x1p-9f * 0.5f, 0x1p-6f * 0.5f, 0.5f * 0.5f, -1f * 2f},
            {3f * 3f, 4f * 3f, 1f * 3f, 1f * 3f, 1f * 0.25f},
        };
        try (LoadedWeights weights = new LoadedWeights(SafetensorsDirectory.open(dir), new Fp8BlockDequantizer(2, 4))) {
            Tensor t = weights.get("layer.weight");
            assertEquals(DType.F32, t.dtype());
            assertSame(t, weights.get("layer.weight"), "dequantized once");
            WeightMatrix m = WeightMatrix.of(t);
            float[] row = new float[5];
            for (int r = 0; r < 3; r++) {
                m.copyRow(r, row, 0);
                for (int c = 0; c < 5; c++) {
                    assertEquals(expected[r][c], row[c], 0f, "element " + r + "," + c);
                }
            }
        }
    }

    @Test
    void scaleGridThatDoesNotCoverTheWeightIsRefused() {
        new SafetensorsFixtureWriter()
                .add("w.weight", "F8_E4M3", new long[] {4, 4}, new byte[16])
                .addF32("w.weight_scale_inv", new long[] {1, 1}, new float[] {1f})
                .write(dir.resolve("model.safetensors"));
        try (LoadedWeights weights = new LoadedWeights(SafetensorsDirectory.open(dir), new Fp8BlockDequantizer(2, 2))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> weights.get("w.weight"));
            assertTrue(e.getMessage().contains("[2, 2]"), e.getMessage());
        }
    }

    @Test
    void fp8WeightWithoutScalesIsRefused() {
        new SafetensorsFixtureWriter().add("w.weight", "F8_E4M3", new long[] {2, 2}, new byte[4]).write(dir.resolve("model.safetensors"));
        try (LoadedWeights weights = new LoadedWeights(SafetensorsDirectory.open(dir), new Fp8BlockDequantizer(128, 128))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> weights.get("w.weight"));
            assertTrue(e.getMessage().contains("w.weight_scale_inv"), e.getMessage());
        }
    }

    @Test
    void fp8TensorWhoseBytesDoNotMatchItsShapeIsRefusedByTheParser() {
        new SafetensorsFixtureWriter().add("w.weight", "F8_E4M3", new long[] {2, 3}, new byte[4]).write(dir.resolve("model.safetensors"));
        ModelFileException e = assertThrows(ModelFileException.class, () -> SafetensorsDirectory.open(dir));
        assertTrue(e.getMessage().contains("needs 6 bytes"), e.getMessage());
    }
}
