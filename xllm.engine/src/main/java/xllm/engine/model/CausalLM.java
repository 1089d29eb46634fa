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

    /**
     * As {@link #forward(ForwardPass, float[])}, and also copies every batch token's final hidden state (the last
     * layer's output, before the final norm) into {@code hiddenStates}, {@code numTokens x hiddenSize} in batch
     * token order: what a multi-token-prediction drafter continues from. Null keeps nothing.
     */
    default void forward(ForwardPass pass, float[] logits, float[] hiddenStates) {
        if (hiddenStates != null) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " does not expose its hidden states");
        }
        forward(pass, logits);
    }

    @Override
    void close();
}
