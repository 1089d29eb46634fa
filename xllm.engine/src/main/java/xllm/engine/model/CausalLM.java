package xllm.engine.model;

/**
 * A loaded language model: one forward pass over a {@link StepBatch} extends each sequence's KV cache
 * and produces next-token logits for the sequences that sample. Called by one thread at a time.
 */
public interface CausalLM extends AutoCloseable {
    ModelConfig config();

    /** Floats one token takes in one layer's KV slot; sizes the page arena. */
    int kvFloatsPerSlot();

    int numLayers();

    /** Whether every layer can keep its cache in {@link xllm.kv.KvDtype#F16} in blocks of {@code blockSize} slots. */
    default boolean supportsF16Cache(int blockSize) {
        return false;
    }

    /** Runs the batch; writes {@code batch.numSampled() x vocab} logits into {@code logits} (row-major). */
    void forward(ForwardPass pass, float[] logits);

    @Override
    void close();
}
