package xllm.engine.spec;

import xllm.api.SamplingParams;
import xllm.engine.model.StepBatch;
import xllm.engine.runner.StepOutput;

/**
 * Drafts the tokens a decoding sequence is likely to produce next, for the target model to verify in one
 * forward pass. The engine asks once a step for every sequence that decodes in it, and tells the proposer when
 * a sequence is gone. A proposer keeps whatever per-sequence state it likes, keyed by sequence id, and must
 * check it against the tokens it is given: drafts it proposed before may have been rejected. Owned by the
 * engine loop thread.
 */
public interface Proposer extends AutoCloseable {
    /** Fills in drafts, at most {@link DraftBatch#maxDrafts} for each sequence of {@code batch} (0 is allowed). */
    void propose(DraftBatch batch);

    /**
     * Sequence {@code sequenceId} ended (finished or aborted) with {@code tokens[0 .. length)}, the first
     * {@code promptLength} its prompt: forget its state; its output may inform later drafts.
     */
    void finished(long sequenceId, int[] tokens, int promptLength, int length);

    /**
     * Whether drafts for a sequence sampled with {@code params} are sampled from a distribution (and verified by
     * rejection sampling) rather than chosen deterministically. Such a sequence drafts as deep as its own history
     * says, whatever the load, so that its seed gives the same tokens every time.
     */
    default boolean samplesDrafts(SamplingParams params) {
        return false;
    }

    /**
     * The target model just executed {@code batch} into {@code output}, before its drafts were verified: for a
     * proposer that drafts from the target's own hidden states. Which tokens were accepted shows in the tokens of
     * the next {@link #propose}.
     */
    default void observe(StepBatch batch, StepOutput output) {
    }

    @Override
    default void close() {
    }
}
