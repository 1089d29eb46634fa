package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.engine.weights.Tensor;

/**
 * BF16 weights as stored, multiplied as {@link ActivationPrecision} says: against activations rounded to
 * bf16 with the native kernels ({@code vdpbf16ps} on AVX-512, widened to float and FMA on AVX2), or against float activations, each weight vector widened
 * inside the kernel (natively where the native kernels run, else in the register tile of {@link VectorTiledMatrix}).
 */
public final class Bf16Matrix extends VectorTiledMatrix {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final VectorSpecies<Integer> INT = IntVector.SPECIES_PREFERRED;
    /** Half as wide as the float species: one short lane per float lane. */
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final boolean roundActivations;
    /** The native kernels multiplying, or null for the Vector API ones. */
    private final NativeKernels kernels;
    /** What the native bf16 kernel reads: the weights repacked into its panels, or as stored when it wants no panels. */
    private final MemorySegment packedWeights;

    Bf16Matrix(Tensor t, boolean roundActivations) {
        this(t, roundActivations, NativeKernels.active());
    }

    /** With {@code kernels} (null: the Vector API ones). */
    Bf16Matrix(Tensor t, boolean roundActivations, NativeKernels kernels) {
        super(t, 2);
        this.kernels = kernels;
        this.roundActivations = roundActivations && kernels != null;
        this.packedWeights = this.roundActivations ? repack() : data;
    }

    /**
     * The weights in the panels the library's bf16 kernel streams through (as {@link QuantizedMatrix} repacks
     * its blocks), or as stored when it reads rows in place. The stored rows stay for embedding lookups and
     * float activations; their pages go back to the page cache once read.
     */
    private MemorySegment repack() {
        return RepackedWeights.repack(this, kernels.bf16PanelBytes(rows, cols), data, panels -> kernels.bf16Repack(data, rows, cols, panels));
    }

    @Override
    public ActivationFormat activationFormat() {
        return roundActivations ? ActivationFormat.BF16 : ActivationFormat.FLOAT;
    }

    @Override
    public void multiplyPacked(MemorySegment packed, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        kernels.bf16Gemm(packedWeights, cols, packed, tokens, out, outOffset, outStride, rowStart, rowEnd);
    }

    @Override
    public void copyRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes;
        for (int k = 0; k < cols; k++) {
            dst[dstOffset + k] = scalar(base, k);
        }
    }

    @Override
    FloatVector load(long rowBase, int k) {
        ShortVector bits = ShortVector.fromMemorySegment(HALF, data, rowBase + (long) k * 2, LE);
        return ((IntVector) bits.convertShape(VectorOperators.S2I, INT, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    @Override
    float scalar(long rowBase, int k) {
        return Tensor.bf16ToFloat(data.get(I16, rowBase + (long) k * 2));
    }

    @Override
    public void multiply(float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        if (kernels != null) {
            kernels.bf16F32Gemm(data, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        } else {
            multiplyTiled(x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
        }
    }
}
