package xllm.engine.weights;

import java.util.Optional;

/** Storage formats of weight tensors. Compute is always F32; these say how stored elements decode. */
public enum DType {
    F32(4),
    BF16(2),
    F16(2),
    /** FP8 E4M3 (OCP "fn" variant: no infinities, max 448), scaled by a separate block-scale tensor. */
    F8_E4M3(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
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
}
