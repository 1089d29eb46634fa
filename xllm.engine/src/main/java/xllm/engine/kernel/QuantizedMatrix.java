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
 * GGUF block-quantized weights (Q8_0, Q4_0). With the native kernels the blocks are repacked at load into
 * panels of rows (16 for AVX-512, 8 for AVX2) and multiplied against activations quantized to int8 blocks with
 * integer dot products (VNNI, or AVX2's vpmaddubsw); otherwise (the
 * Vector API path below) each 32-element block is widened in registers once per row and tile and dotted
 * against up to four float tokens. Every path adds a block's scaled partial dot in the same order, so a
 * token's result does not depend on the batch it runs in.
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
    private final boolean q8;
    /** The native kernels multiplying, or null for the Vector API ones. */
    private final NativeKernels kernels;
    /** The native kernels' copy of the weights, in their panels; null for the Vector API kernels. */
    private final MemorySegment panels;

    QuantizedMatrix(Tensor t) {
        this(t, NativeKernels.active());
    }

    /** With {@code kernels} (null: the Vector API ones). */
    QuantizedMatrix(Tensor t, NativeKernels kernels) {
        this.data = t.data();
        this.dtype = t.dtype();
        this.rows = t.dim(0);
        this.cols = t.dim(1);
        this.blocksPerRow = cols / BLOCK;
        this.rowBytes = (long) blocksPerRow * dtype.bytesPerBlock();
        this.decoder = dtype == DType.Q8_0 ? new Q8Decoder(data) : new Q4Decoder(data);
        this.q8 = dtype == DType.Q8_0;
        this.kernels = kernels;
        this.panels = kernels != null ? repack() : null;
    }

    /**
     * The weights repacked for the native kernels (as llama.cpp repacks for its AVX-512 kernels): the
     * products of 16 rows then come out of one instruction. The stored blocks stay for embedding lookups;
     * their pages are handed back to the page cache once read.
     */
    private MemorySegment repack() {
        return RepackedWeights.repack(this, kernels.panelBytes(!q8, rows, cols), data,
                panels -> kernels.repack(!q8, data, rowBytes, rows, cols, 0, rows, panels));
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

    /** With the native kernels, activations are quantized to int8 blocks (as llama.cpp does) for integer dot products. */
    @Override
    public ActivationFormat activationFormat() {
        if (panels == null) {
            return ActivationFormat.FLOAT;
        }
        return ActivationFormat.Q8_BLOCKS;
    }

    @Override
    public void multiplyPacked(MemorySegment packed, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        kernels.quantizedGemm(!q8, panels, cols, packed, tokens, out, outOffset, outStride, rowStart, rowEnd);
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
        if (tokens < 4) {
            // the decode shape: kept to one small hot loop so the JIT compiles it early and fully
            for (int r = rowStart; r < rowEnd; r++) {
                for (int t = 0; t < tokens; t++) {
                    out[outOffset + t * outStride + r] = row1x1(r, x, xOffset + t * cols);
                }
            }
            return;
        }
        multiplyBatch(x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
    }

    /** Four or more tokens: two rows by four tokens per tile, the remainders one at a time. */
    private void multiplyBatch(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        int r = rowStart;
        for (; r + 2 <= rowEnd; r += 2) {
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                rows2x4(r, x, xOffset + t * cols, out, outOffset + t * outStride + r, outStride);
            }
            for (; t < tokens; t++) {
                out[outOffset + t * outStride + r] = row1x1(r, x, xOffset + t * cols);
                out[outOffset + t * outStride + r + 1] = row1x1(r + 1, x, xOffset + t * cols);
            }
        }
        for (; r < rowEnd; r++) {
            for (int t = 0; t < tokens; t++) {
                out[outOffset + t * outStride + r] = row1x1(r, x, xOffset + t * cols);
            }
        }
    }

    /** Two rows against four tokens: each x vector loaded once for both rows, each block decoded once. */
    private void rows2x4(int r, float[] x, int x0, float[] out, int o, int outStride) {
        long base0 = r * rowBytes;
        long base1 = base0 + rowBytes;
        int blockBytes = dtype.bytesPerBlock();
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocksPerRow; b++) {
            long block0 = base0 + (long) b * blockBytes;
            long block1 = base1 + (long) b * blockBytes;
            int k = b * BLOCK;
            FloatVector lo0 = (q8 ? q8(block0, 0) : q4Low(block0));
            FloatVector hi0 = (q8 ? q8(block0, 1) : q4High(block0));
            FloatVector lo1 = (q8 ? q8(block1, 0) : q4Low(block1));
            FloatVector hi1 = (q8 ? q8(block1, 1) : q4High(block1));
            FloatVector d0 = FloatVector.broadcast(S, scale(block0));
            FloatVector d1 = FloatVector.broadcast(S, scale(block1));
            FloatVector xl = FloatVector.fromArray(S, x, x0 + k);
            FloatVector xh = FloatVector.fromArray(S, x, x0 + k + 16);
            a0 = hi0.fma(xh, lo0.mul(xl)).fma(d0, a0);
            c0 = hi1.fma(xh, lo1.mul(xl)).fma(d1, c0);
            xl = FloatVector.fromArray(S, x, x1 + k);
            xh = FloatVector.fromArray(S, x, x1 + k + 16);
            a1 = hi0.fma(xh, lo0.mul(xl)).fma(d0, a1);
            c1 = hi1.fma(xh, lo1.mul(xl)).fma(d1, c1);
            xl = FloatVector.fromArray(S, x, x2 + k);
            xh = FloatVector.fromArray(S, x, x2 + k + 16);
            a2 = hi0.fma(xh, lo0.mul(xl)).fma(d0, a2);
            c2 = hi1.fma(xh, lo1.mul(xl)).fma(d1, c2);
            xl = FloatVector.fromArray(S, x, x3 + k);
            xh = FloatVector.fromArray(S, x, x3 + k + 16);
            a3 = hi0.fma(xh, lo0.mul(xl)).fma(d0, a3);
            c3 = hi1.fma(xh, lo1.mul(xl)).fma(d1, c3);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = c0.reduceLanes(VectorOperators.ADD);
        out[o + outStride] = a1.reduceLanes(VectorOperators.ADD);
        out[o + outStride + 1] = c1.reduceLanes(VectorOperators.ADD);
        out[o + 2 * outStride] = a2.reduceLanes(VectorOperators.ADD);
        out[o + 2 * outStride + 1] = c2.reduceLanes(VectorOperators.ADD);
        out[o + 3 * outStride] = a3.reduceLanes(VectorOperators.ADD);
        out[o + 3 * outStride + 1] = c3.reduceLanes(VectorOperators.ADD);
    }

    // Each of these stays well under the JIT's inlining limits: a call that is not inlined would box its vector.

    /** Q8_0: the 16 int8 weights of half {@code part} of a block, unscaled. */
    private FloatVector q8(long block, int part) {
        return (FloatVector) ByteVector.fromMemorySegment(B16, data, block + 2 + part * 16L, LE).convertShape(VectorOperators.B2F, S, 0);
    }

    /** Q4_0: the low nibbles of a block's 16 bytes (its first 16 weights), unscaled. */
    private FloatVector q4Low(long block) {
        ByteVector packed = ByteVector.fromMemorySegment(B16, data, block + 2, LE);
        return (FloatVector) packed.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
    }

    /** Q4_0: the high nibbles of a block's 16 bytes (its last 16 weights), unscaled. */
    private FloatVector q4High(long block) {
        ByteVector packed = ByteVector.fromMemorySegment(B16, data, block + 2, LE);
        return (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
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
            FloatVector sum = (q8 ? q8(block, 0) : q4Low(block)).mul(FloatVector.fromArray(S, x, k));
            sum = (q8 ? q8(block, 1) : q4High(block)).fma(FloatVector.fromArray(S, x, k + 16), sum);
            acc = sum.fma(FloatVector.broadcast(S, scale(block)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
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
