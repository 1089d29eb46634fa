package xllm.engine.weights;

import java.util.Optional;

/**
 * Storage formats of weight tensors. Compute is always F32; these say how stored elements decode. Block
 * formats (GGUF's Q8_0 and Q4_0) store 32 elements per block with one F16 scale.
 */
public enum DType {
    F32(1, 4),
    BF16(1, 2),
    F16(1, 2),
    /** 32 int8 values and an F16 scale: 34 bytes per 32 elements. */
    Q8_0(32, 34),
    /** 32 4-bit values (offset by 8) and an F16 scale: 18 bytes per 32 elements. */
    Q4_0(32, 18),
    /** FP8 E4M3 (OCP "fn" variant: no infinities, max 448), scaled by a separate block-scale tensor. */
    F8_E4M3(1, 1);

    private final int elementsPerBlock;
    private final int bytesPerBlock;

    DType(int elementsPerBlock, int bytesPerBlock) {
        this.elementsPerBlock = elementsPerBlock;
        this.bytesPerBlock = bytesPerBlock;
    }

    public int elementsPerBlock() {
        return elementsPerBlock;
    }

    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    public boolean isBlockQuantized() {
        return elementsPerBlock > 1;
    }

    /** Bytes that {@code elements} elements take; -1 when they do not fill whole blocks. */
    public long byteSize(long elements) {
        if (elements % elementsPerBlock != 0) {
            return -1;
        }
        return Math.multiplyExact(elements / elementsPerBlock, (long) bytesPerBlock);
    }

    /** The dtype named as safetensors names it ("F32", "BF16", "F16", "F8_E4M3"), if supported. */
    public static Optional<DType> fromSafetensorsName(String name) {
        return switch (name) {
            case "F32" -> Optional.of(F32);
            case "BF16" -> Optional.of(BF16);
            case "F16" -> Optional.of(F16);
            case "F8_E4M3" -> Optional.of(F8_E4M3);
            default -> Optional.empty();
        };
    }

    /** The dtype of a ggml type id, if supported. */
    public static Optional<DType> fromGgmlType(int type) {
        return switch (type) {
            case 0 -> Optional.of(F32);
            case 1 -> Optional.of(F16);
            case 2 -> Optional.of(Q4_0);
            case 8 -> Optional.of(Q8_0);
            case 30 -> Optional.of(BF16);
            default -> Optional.empty();
        };
    }
}
