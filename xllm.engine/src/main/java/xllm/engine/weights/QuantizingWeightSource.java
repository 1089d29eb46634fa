package xllm.engine.weights;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Another weight source with its 2-D weights quantized to Q8_0 or Q4_0 on first use ({@code --quantization});
 * 1-D tensors (norms, biases) and weights whose rows do not fill whole blocks stay as they are.
 */
public final class QuantizingWeightSource implements WeightSource {
    private final WeightSource source;
    private final DType target;
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> quantized = new ConcurrentHashMap<>();

    public QuantizingWeightSource(WeightSource source, DType target) {
        if (!target.isBlockQuantized()) {
            throw new IllegalArgumentException("quantization target must be Q8_0 or Q4_0, got " + target);
        }
        this.source = source;
        this.target = target;
    }

    @Override
    public Optional<Tensor> find(String name) {
        Optional<Tensor> t = source.find(name);
        if (t.isEmpty() || !Quantizer.canQuantize(t.get(), target)) {
            return t;
        }
        return Optional.of(quantized.computeIfAbsent(name, n -> quantize(t.get())));
    }

    /** The quantized copy; the float source's mapped pages go back to the page cache, as nothing reads them again. */
    private Tensor quantize(Tensor source) {
        Tensor q = Quantizer.quantize(source, target, arena);
        if (source.data().isMapped()) {
            source.data().unload();
        }
        return q;
    }

    @Override
    public Set<String> names() {
        return source.names();
    }

    @Override
    public void close() {
        arena.close();
        source.close();
    }
}
