package xllm.engine.runner;

import xllm.engine.model.StepBatch;

/**
 * What one executed step produced: the next-token logits of each entry of its batch that samples. The runner
 * refills the same buffer every step; an output stays valid until the runner's next execute. Owned by the
 * engine loop thread.
 */
public final class StepOutput {
    private final int vocabSize;
    private float[] logits = new float[0];
    private StepBatch batch;

    StepOutput(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    /** Makes room for {@code batch}'s rows; returns the buffer the model writes them into. */
    float[] prepare(StepBatch batch) {
        this.batch = batch;
        int needed = batch.numSampled() * vocabSize;
        if (logits.length < needed) {
            logits = new float[Math.max(needed, logits.length * 2)];
        }
        return logits;
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

    /** Where {@code entry}'s row starts in {@link #logits()}, or -1 when the entry samples nothing this step. */
    public int logitsOffset(int entry) {
        int row = batch.sampleRow(entry);
        return row < 0 ? -1 : row * vocabSize;
    }
}
