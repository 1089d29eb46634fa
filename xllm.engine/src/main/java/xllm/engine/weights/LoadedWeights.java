package xllm.engine.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The weights of a loaded model: the checkpoint as mapped, plus the off-heap F32 copies made at load,
 * FP8 weights dequantized with their {@code <name>_scale_inv} block scales and matrices an architecture
 * derives from checkpoint weights. Closing it frees both. Used by the loading thread; the tensors it
 * hands out are read-only afterwards.
 */
public final class LoadedWeights implements WeightSource {
    private static final String SCALE_SUFFIX = "_scale_inv";

    private final WeightSource checkpoint;
    private final Fp8BlockDequantizer fp8;
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> copies = new HashMap<>();

    public LoadedWeights(WeightSource checkpoint, Fp8BlockDequantizer fp8) {
        this.checkpoint = checkpoint;
        this.fp8 = fp8;
    }

    /** FP8 tensors come back dequantized to F32; everything else as mapped. */
    @Override
    public Optional<Tensor> find(String name) {
        Tensor copy = copies.get(name);
        if (copy != null) {
            return Optional.of(copy);
        }
        Optional<Tensor> t = checkpoint.find(name);
        if (t.isEmpty() || t.get().dtype() != DType.F8_E4M3) {
            return t;
        }
        Tensor scale = checkpoint.find(name + SCALE_SUFFIX).orElseThrow(() -> new IllegalArgumentException(
                "FP8 weight " + name + " has no " + name + SCALE_SUFFIX + " block scales in the checkpoint"));
        Tensor dequantized = fp8.dequantize(t.get(), scale, arena);
        copies.put(name, dequantized);
        return Optional.of(dequantized);
    }

    /** A new off-heap F32 tensor holding {@code values} (row-major), living as long as these weights. */
    public Tensor derived(String name, long[] shape, float[] values) {
        MemorySegment data = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, data, ValueLayout.JAVA_FLOAT, 0, values.length);
        Tensor t = new Tensor(name, DType.F32, shape.clone(), data);
        if (t.elementCount() != values.length) {
            throw new IllegalArgumentException("derived tensor " + t + " does not hold " + values.length + " values");
        }
        return t;
    }

    @Override
    public Set<String> names() {
        return checkpoint.names();
    }

    @Override
    public void close() {
        arena.close();
        checkpoint.close();
    }
}
