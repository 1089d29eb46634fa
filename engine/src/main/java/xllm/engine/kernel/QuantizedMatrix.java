package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.weights.DType;
import xllm.engine.weights.Tensor;

/**
 * GGUF block-quantized weights (Q8_0, Q4_0) as stored: each 32-element block is widened in registers
 * once per row and tile and dotted against up to four tokens. Every path adds a block's scaled partial
 * dot in the same order, so a token's result does not depend on the batch it runs in.
 */
public final class QuantizedMatrix implements WeightMatrix {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int BLOCK = 32;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

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
    public void multiply(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        if (S.length() != 16) {
            multiplyScalarDecode(x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) {
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                row1x4(r, x, xOffset + t * cols, out, outOffset + t * outStride + r, outStride);
            }
            for (; t < tokens; t++) {
                out[outOffset + t * outStride + r] = row1x1(r, x, xOffset + t * cols);
            }
        }
    }

    /** The 16 weights of one half block, unscaled: Q8 bytes, or Q4 nibbles (low half, then high). */
    private FloatVector half(long block, int part) {
        if (dtype == DType.Q8_0) {
            return (FloatVector) ByteVector.fromMemorySegment(B16, data, block + 2 + part * 16L, LE)
                    .convertShape(VectorOperators.B2F, S, 0);
        }
        ByteVector packed = ByteVector.fromMemorySegment(B16, data, block + 2, LE);
        ByteVector nibbles = part == 0 ? packed.and((byte) 0x0F) : packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F);
        return (FloatVector) nibbles.sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
    }

    private float scale(long block) {
        return Float.float16ToFloat(data.get(I16, block));
    }

    /** One row against one token; block sums are scaled into a vector accumulator, reduced once. */
    private float row1x1(int r, float[] x, int x0) {
        long base = r * rowBytes;
        int blockBytes = dtype.bytesPerBlock();
        FloatVector acc = FloatVector.zero(S);
        for (int b = 0; b < blocksPerRow; b++) {
            long block = base + (long) b * blockBytes;
            int k = x0 + b * BLOCK;
            FloatVector sum = half(block, 0).mul(FloatVector.fromArray(S, x, k));
            sum = half(block, 1).fma(FloatVector.fromArray(S, x, k + 16), sum);
            acc = sum.fma(FloatVector.broadcast(S, scale(block)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** One row against four tokens: each block decoded once, used four times. */
    private void row1x4(int r, float[] x, int x0, float[] out, int o, int outStride) {
        long base = r * rowBytes;
        int blockBytes = dtype.bytesPerBlock();
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocksPerRow; b++) {
            long block = base + (long) b * blockBytes;
            int k = b * BLOCK;
            FloatVector lo = half(block, 0);
            FloatVector hi = half(block, 1);
            FloatVector d = FloatVector.broadcast(S, scale(block));
            a0 = hi.fma(FloatVector.fromArray(S, x, x0 + k + 16), lo.mul(FloatVector.fromArray(S, x, x0 + k))).fma(d, a0);
            a1 = hi.fma(FloatVector.fromArray(S, x, x1 + k + 16), lo.mul(FloatVector.fromArray(S, x, x1 + k))).fma(d, a1);
            a2 = hi.fma(FloatVector.fromArray(S, x, x2 + k + 16), lo.mul(FloatVector.fromArray(S, x, x2 + k))).fma(d, a2);
            a3 = hi.fma(FloatVector.fromArray(S, x, x3 + k + 16), lo.mul(FloatVector.fromArray(S, x, x3 + k))).fma(d, a3);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + outStride] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 2 * outStride] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 3 * outStride] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** Portable path for vector shapes other than 16 floats. */
    private void multiplyScalarDecode(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        float[] block = new float[BLOCK];
        int blockBytes = dtype.bytesPerBlock();
        for (int r = rowStart; r < rowEnd; r++) {
            long base = r * rowBytes;
            for (int t = 0; t < tokens; t++) {
                int x0 = xOffset + t * cols;
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
