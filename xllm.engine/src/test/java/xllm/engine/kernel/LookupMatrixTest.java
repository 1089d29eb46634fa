package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import xllm.engine.weights.DType;
import xllm.engine.weights.Tensor;

/**
 * An embedding table that is only looked up reads its rows as stored: the same rows as a matrix built to be
 * multiplied, without the copy into the native kernels' panels that such a matrix makes.
 */
class LookupMatrixTest {
    @Test
    void aLookupTableHasTheSameRowsAndNoPanelCopy() {
        assumeTrue(NativeKernels.available(), "the native kernels repack weights; without them nothing is copied either way");
        int rows = 512;
        int cols = 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bf = arena.allocate((long) rows * cols * 2, 64);
            SplittableRandom random = new SplittableRandom(7);
            for (long i = 0; i < (long) rows * cols; i++) {
                bf.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16));
            }
            Tensor t = new Tensor("embed", DType.BF16, new long[] {rows, cols}, bf);
            long before = RepackedWeights.bytes();
            WeightMatrix multiplied = WeightMatrix.of(t, ActivationPrecision.BF16);
            long afterMultiplied = RepackedWeights.bytes();
            WeightMatrix looked = WeightMatrix.forLookup(t);
            long afterLookup = RepackedWeights.bytes();
            assertTrue(afterMultiplied - before >= (long) rows * cols * 2,
                    "a matrix to multiply is copied into panels: " + (afterMultiplied - before) + " bytes");
            assertTrue(afterLookup <= afterMultiplied, "a lookup table is not: " + (afterLookup - afterMultiplied) + " bytes more");
            float[] a = new float[cols];
            float[] b = new float[cols];
            for (int r : new int[] {0, 1, 255, rows - 1}) {
                multiplied.copyRow(r, a, 0);
                looked.copyRow(r, b, 0);
                assertArrayEquals(a, b, "row " + r);
            }
        }
    }
}
