package xllm.engine.runner;

import xllm.engine.model.StepBatch;

/**
 * What one executed step produced: the next-token logits of each entry of its batch that samples and, when the
 * runner keeps them, every token's final hidden state. The runner refills the same buffers every step; an output
 * stays valid until the runner's next execute. Owned by the engine loop thread.
 */
public final class StepOutput {
    private final int vocabSize;
    private float[] logits = new float[0];
    private float[] hiddenStates = new float[0];
    private int hiddenSize;
    private StepBatch batch;

    StepOutput(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    /** Makes room for {@code batch}'s rows; returns the buffer the model writes them into. */
    float[] prepare(StepBatch batch) {
        this.batch = batch;
        this.hiddenSize = 0;
        int needed = batch.numSampled() * vocabSize;
        if (logits.length < needed) {
            logits = new float[Math.max(needed, logits.length * 2)];
        }
        return logits;
    }

    /** Makes room for every token's hidden state of the batch just prepared; returns the buffer. */
    float[] prepareHiddenStates(int hiddenSize) {
        this.hiddenSize = hiddenSize;
        int needed = batch.numTokens() * hiddenSize;
        if (hiddenStates.length < needed) {
            hiddenStates = new float[Math.max(needed, hiddenStates.length * 2)];
        }
        return hiddenStates;
    }

    /** The batch this output answers. */
    public StepBatch batch() {
        return batch;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Every sampled row's logits, {@link #vocabSize()} floats a row, in the batch's row order. */
    public float[] logits() {
        return logits;
    }

    /** Floats in one token's hidden state, or 0 when this step kept none. */
    public int hiddenSize() {
        return hiddenSize;
    }

    /**
     * Every batch token's final hidden state (the last layer's output, before the final norm), {@link #hiddenSize()}
     * floats a token, in batch token order; only when the runner keeps them ({@link ModelRunner#keepHiddenStates}).
     */
    public float[] hiddenStates() {
        if (hiddenSize == 0) {
            throw new IllegalStateException("this step kept no hidden states: turn them on with ModelRunner.keepHiddenStates(true)");
        }
        return hiddenStates;
    }

    /** Where {@code entry}'s row starts in {@link #logits()}, or -1 when the entry samples nothing this step. */
    public int logitsOffset(int entry) {
        int row = batch.sampleRow(entry);
        return row < 0 ? -1 : row * vocabSize;
    }
}
