package xllm.engine.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Quantizes float weights into GGUF's Q8_0 and Q4_0 block layouts, with llama.cpp's rounding. */
public final class Quantizer {
    private static final int BLOCK = 32;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private Quantizer() {
    }

    /** Whether {@code t} can be stored as {@code target}: a 2-D float tensor whose rows fill whole blocks. */
    public static boolean canQuantize(Tensor t, DType target) {
        boolean floats = t.dtype() == DType.F32 || t.dtype() == DType.BF16 || t.dtype() == DType.F16;
        return t.rank() == 2 && floats && t.shape()[1] % target.elementsPerBlock() == 0;
    }

    /** A new tensor in {@code target} format, allocated in {@code arena}. */
    public static Tensor quantize(Tensor t, DType target, Arena arena) {
        if (!canQuantize(t, target) || !target.isBlockQuantized()) {
            throw new IllegalArgumentException("cannot quantize " + t + " to " + target);
        }
        long elements = t.elementCount();
        MemorySegment out = arena.allocate(target.byteSize(elements), 8);
        float[] block = new float[BLOCK];
        long blocks = elements / BLOCK;
        for (long b = 0; b < blocks; b++) {
            t.copyTo(b * BLOCK, block, 0, BLOCK);
            long offset = b * target.bytesPerBlock();
            if (target == DType.Q8_0) {
                writeQ8(block, out, offset);
            } else {
                writeQ4(block, out, offset);
            }
        }
        return new Tensor(t.name(), target, t.shape(), out);
    }

    private static void writeQ8(float[] x, MemorySegment out, long offset) {
        float amax = 0;
        for (float v : x) {
            amax = Math.max(amax, Math.abs(v));
        }
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        out.set(I16, offset, Float.floatToFloat16(d));
        for (int i = 0; i < BLOCK; i++) {
            out.set(ValueLayout.JAVA_BYTE, offset + 2 + i, (byte) Math.round(x[i] * id));
        }
    }

    private static void writeQ4(float[] x, MemorySegment out, long offset) {
        float amax = 0;
        float max = 0;
        for (float v : x) {
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        out.set(I16, offset, Float.floatToFloat16(d));
        for (int i = 0; i < 16; i++) {
            int q0 = Math.min(15, (int) (x[i] * id + 8.5f));
            int q1 = Math.min(15, (int) (x[i + 16] * id + 8.5f));
            out.set(ValueLayout.JAVA_BYTE, offset + 2 + i, (byte) (q0 | (q1 << 4)));
        }
    }
}
