package xllm.engine.model;

/** The token-mixing half of a decoder layer: reads and extends the KV cache. */
public interface AttentionLayer {
    /** Writes the attention output of every batch token ({@code tokens x hidden}) to {@code out}. */
    void forward(ForwardPass pass, int layer, float[] normed, float[] out);

    /** Floats this layer keeps per token in one KV slot. */
    int kvFloatsPerSlot();

    /** Whether this layer can keep its cache in {@link xllm.kv.KvDtype#F16} in blocks of {@code blockSize} slots. */
    default boolean supportsF16Cache(int blockSize) {
        return false;
    }
}
