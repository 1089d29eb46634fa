package xllm.kv;

import java.util.Locale;

/**
 * How the KV cache stores each key and value element. {@link #F16} (as llama.cpp stores its cache by default)
 * halves the cache's memory, so twice the tokens fit and attention reads half the bytes, at about three
 * significant digits per element; {@link #F32} keeps them exact.
 */
public enum KvDtype {
    F32(4),
    F16(2);

    private final int bytes;

    KvDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per stored element. */
    public int bytes() {
        return bytes;
    }

    /** {@code f32} or {@code f16}, as given on the command line. */
    public static KvDtype parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32" -> F32;
            case "f16" -> F16;
            default -> throw new IllegalArgumentException("kv-cache-dtype must be f16 or f32, got \"" + s + "\"");
        };
    }
}
