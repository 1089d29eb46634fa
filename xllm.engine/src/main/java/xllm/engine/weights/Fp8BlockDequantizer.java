package xllm.engine.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Turns a block-quantized FP8 weight (DeepSeek-V3's format: E4M3 elements, one F32
 * {@code weight_scale_inv} per {@code blockRows x blockCols} tile) into an F32 copy, because the
 * kernels compute in F32. {@code value = e4m3(element) * scale_inv[row / blockRows][col / blockCols]}.
 * Runs at load on the loading thread.
 */
public final class Fp8BlockDequantizer {
    private final int blockRows;
    private final int blockCols;

    public Fp8BlockDequantizer(int blockRows, int blockCols) {
        if (blockRows < 1 || blockCols < 1) {
            throw new IllegalArgumentException("FP8 weight block must be positive, got " + blockRows + "x" + blockCols);
        }
        this.blockRows = blockRows;
        this.blockCols = blockCols;
    }

    /** The F32 copy of {@code weight}, allocated in {@code arena}; the scale grid must cover the weight exactly. */
    public Tensor dequantize(Tensor weight, Tensor scaleInv, Arena arena) {
        if (weight.dtype() != DType.F8_E4M3 || weight.rank() != 2) {
            throw new IllegalArgumentException("tensor " + weight + " is not a 2-D F8_E4M3 weight");
        }
        int rows = weight.dim(0);
        int cols = weight.dim(1);
        long scaleRows = (rows + blockRows - 1) / blockRows;
        long scaleCols = (cols + blockCols - 1) / blockCols;
        if (scaleInv.dtype() == DType.F8_E4M3 || !Arrays.equals(scaleInv.shape(), new long[] {scaleRows, scaleCols})) {
            throw new IllegalArgumentException("scale tensor " + scaleInv + " does not fit " + weight + " in "
                    + blockRows + "x" + blockCols + " blocks: expected a float tensor of shape [" + scaleRows + ", " + scaleCols + "]");
        }
        MemorySegment out = arena.allocate((long) rows * cols * Float.BYTES, 64);
        byte[] in = new byte[cols];
        float[] row = new float[cols];
        float[] scales = new float[(int) scaleCols];
        for (int r = 0; r < rows; r++) {
            if (r % blockRows == 0) {
                scaleInv.copyTo((long) (r / blockRows) * scaleCols, scales, 0, scales.length);
            }
            MemorySegment.copy(weight.data(), ValueLayout.JAVA_BYTE, (long) r * cols, in, 0, cols);
            for (int c = 0; c < cols; c++) {
                row[c] = Tensor.e4m3ToFloat(in[c]) * scales[c / blockCols];
            }
            MemorySegment.copy(row, 0, out, ValueLayout.JAVA_FLOAT, (long) r * cols * Float.BYTES, cols);
        }
        return new Tensor(weight.name(), DType.F32, weight.shape().clone(), out);
    }
}
