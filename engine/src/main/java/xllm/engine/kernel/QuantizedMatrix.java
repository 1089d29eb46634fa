package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.weights.DType;
import xllm.engine.weights.Tensor;

/**
 * GGUF block-quantized weights (Q8_0, Q4_0) as stored: each 32-element block is widened once per row and
 * tile and dotted against up to four tokens. A block's partial dot is scaled and added in block order,
 * the same on every path, so results do not depend on the batch.
 */
public final class QuantizedMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int BLOCK = 32;

    private final MemorySegment data;
    private final DType dtype;
    private final int rows;
    private final int cols;
    private final int blocksPerRow;
    private final long rowBytes;
    private final BlockDecoder decoder;

    QuantizedMatrix(Tensor t) {
        this.data = t.data();
        this.dtype = t.dtype();
        this.rows = t.dim(0);
        this.cols = t.dim(1);
        this.blocksPerRow = cols / BLOCK;
        this.rowBytes = (long) blocksPerRow * dtype.bytesPerBlock();
        this.decoder = dtype == DType.Q8_0 ? new Q8Decoder(data) : new Q4Decoder(data);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public DType dtype() {
        return dtype;
    }

    @Override
    public void copyRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes;
        for (int b = 0; b < blocksPerRow; b++) {
            int o = dstOffset + b * BLOCK;
            float scale = decoder.decode(base + (long) b * dtype.bytesPerBlock(), dst, o);
            for (int i = 0; i < BLOCK; i++) {
                dst[o + i] *= scale;
            }
        }
    }

    @Override
    public void multiply(float[] x, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        float[] block = new float[BLOCK];
        int blockBytes = dtype.bytesPerBlock();
        for (int r = rowStart; r < rowEnd; r++) {
            long base = r * rowBytes;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int b = 0; b < blocksPerRow; b++) {
                    float scale = decoder.decode(base + (long) b * blockBytes, block, 0);
                    int k = b * BLOCK;
                    s0 += scale * blockDot(block, x, x0 + k);
                    s1 += scale * blockDot(block, x, x1 + k);
                    s2 += scale * blockDot(block, x, x2 + k);
                    s3 += scale * blockDot(block, x, x3 + k);
                }
                int o = outOffset + t * outStride + r;
                out[o] = s0;
                out[o + outStride] = s1;
                out[o + 2 * outStride] = s2;
                out[o + 3 * outStride] = s3;
            }
            for (; t < tokens; t++) {
                int x0 = t * cols;
                float s0 = 0;
                for (int b = 0; b < blocksPerRow; b++) {
                    float scale = decoder.decode(base + (long) b * blockBytes, block, 0);
                    s0 += scale * blockDot(block, x, x0 + b * BLOCK);
                }
                out[outOffset + t * outStride + r] = s0;
            }
        }
    }

    /** Dot of one unscaled 32-element block with activations {@code x[k..k+32)}. */
    private static float blockDot(float[] block, float[] x, int k) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < BLOCK; i += S.length()) {
            acc = FloatVector.fromArray(S, block, i).fma(FloatVector.fromArray(S, x, k + i), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Widens one block's quantized values (without the scale) and returns the block's scale. */
    private interface BlockDecoder {
        float decode(long blockOffset, float[] dst, int dstOffset);
    }

    private record Q8Decoder(MemorySegment data) implements BlockDecoder {
        @Override
        public float decode(long blockOffset, float[] dst, int dstOffset) {
            for (int i = 0; i < BLOCK; i++) {
                dst[dstOffset + i] = data.get(ValueLayout.JAVA_BYTE, blockOffset + 2 + i);
            }
            return Float.float16ToFloat(data.get(I16, blockOffset));
        }
    }

    private record Q4Decoder(MemorySegment data) implements BlockDecoder {
        @Override
        public float decode(long blockOffset, float[] dst, int dstOffset) {
            for (int i = 0; i < 16; i++) {
                int packed = data.get(ValueLayout.JAVA_BYTE, blockOffset + 2 + i) & 0xFF;
                dst[dstOffset + i] = (packed & 0x0F) - 8;
                dst[dstOffset + i + 16] = (packed >>> 4) - 8;
            }
            return Float.float16ToFloat(data.get(I16, blockOffset));
        }
    }
}
