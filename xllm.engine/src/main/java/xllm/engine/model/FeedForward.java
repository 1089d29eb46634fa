package xllm.engine.model;

/** The per-token half of a decoder layer: a dense MLP or a mixture of experts. */
public interface FeedForward {
    /** Writes the output of every batch token ({@code tokens x hidden}) to {@code out}. */
    void forward(ForwardPass pass, float[] normed, float[] out);
}
