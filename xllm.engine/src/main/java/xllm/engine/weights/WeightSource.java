package xllm.engine.weights;

import java.util.Optional;
import java.util.Set;

/** Where a model's tensors come from, looked up by their Hugging Face names. */
public interface WeightSource extends AutoCloseable {
    Optional<Tensor> find(String name);

    Set<String> names();

    /** The tensor, or a clear error naming what is missing. */
    default Tensor get(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException("weight " + name + " is missing from the model"));
    }

    @Override
    void close();
}
