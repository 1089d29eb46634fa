package xllm.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A named, typed view of mapped weight bytes. The data segment is read-only and lives as long as the
 * file mapping that produced it.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final float[] E4M3 = e4m3Table();

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return Math.toIntExact(shape[i]);
    }

    /**
     * Entry {@code index} of the first dimension, in place: one expert of a 3-D stack of experts. Every entry
     * holds whole rows (whole blocks for block-quantized types), so the bytes divide evenly.
     */
    public Tensor slice(String sliceName, int index) {
        if (rank() < 2 || index < 0 || index >= shape[0]) {
            throw new IllegalArgumentException(name + " " + Arrays.toString(shape) + " has no entry " + index);
        }
        long bytes = data.byteSize() / shape[0];
        return new Tensor(sliceName, dtype, Arrays.copyOfRange(shape, 1, shape.length), data.asSlice(index * bytes, bytes));
    }

    /** Element {@code index} decoded to float. */
    public float get(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, index);
            case BF16 -> bf16ToFloat(data.getAtIndex(I16, index));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, index));
            case Q8_0 -> {
                long block = (index / 32) * 34;
                yield Float.float16ToFloat(data.get(I16, block)) * data.get(ValueLayout.JAVA_BYTE, block + 2 + index % 32);
            }
            case Q4_0 -> {
                long block = (index / 32) * 18;
                int j = (int) (index % 32);
                int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + (j & 15)) & 0xFF;
                int q = (j < 16 ? packed & 0x0F : packed >>> 4) - 8;
                yield Float.float16ToFloat(data.get(I16, block)) * q;
            }
            case F8_E4M3 -> e4m3ToFloat(data.get(ValueLayout.JAVA_BYTE, index));
        };
    }

    /** Decodes {@code count} elements starting at {@code from} into {@code dst[dstOffset...]}. */
    public void copyTo(long from, float[] dst, int dstOffset, int count) {
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32, from * Float.BYTES, dst, dstOffset, count);
            return;
        }
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = get(from + i);
        }
    }

    /** The whole tensor decoded to a new float array (for small tensors: norms, biases). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(elementCount())];
        copyTo(0, out, 0, out.length);
        return out;
    }

    /** Checks the shape, naming the tensor and both shapes when they differ. */
    public Tensor requireShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(shape)
                    + ", expected " + Arrays.toString(expected));
        }
        return this;
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** FP8 E4M3 ("fn": exponent bias 7, subnormals, 0x7F and 0xFF are NaN, no infinities). */
    public static float e4m3ToFloat(byte bits) {
        return E4M3[bits & 0xFF];
    }

    private static float[] e4m3Table() {
        float[] table = new float[256];
        for (int b = 0; b < 256; b++) {
            int exponent = (b >> 3) & 0xF;
            int mantissa = b & 0x7;
            float magnitude = exponent == 0xF && mantissa == 0x7 ? Float.NaN
                    : exponent == 0 ? Math.scalb(mantissa / 8f, -6)
                    : Math.scalb(1 + mantissa / 8f, exponent - 7);
            table[b] = (b & 0x80) != 0 ? -magnitude : magnitude;
        }
        return table;
    }

    @Override
    public String toString() {
        return name + dtype + Arrays.toString(shape);
    }
}
