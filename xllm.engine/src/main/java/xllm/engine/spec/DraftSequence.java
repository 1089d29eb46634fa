package xllm.engine.spec;

import java.util.Arrays;
import xllm.api.SamplingParams;
import xllm.engine.sample.SequenceSampling;
import xllm.kv.BlockTable;

/**
 * What the draft model holds of one sequence: its KV blocks and the tokens computed into them, the tokens of
 * the proposal in progress (the sequence's context, then its drafts so far), and the random stream its sampled
 * drafts come from. Owned by the engine loop thread.
 */
final class DraftSequence {
    private static final int[] NO_PROMPT = new int[0];

    final long id;
    final BlockTable table = new BlockTable();
    /** {@code [0, computed)} is in the draft's KV cache; {@code [computed, end)} is fed next. */
    int[] tokens = new int[64];
    int computed;
    int end;
    /** The sequence's index in the current {@link DraftBatch}, the drafts it takes and those drafted so far. */
    int index;
    int wanted;
    int drafts;
    private SequenceSampling sampling;

    DraftSequence(long id) {
        this.id = id;
    }

    /**
     * Starts a proposal for the context {@code context[0, length)}: the KV stays valid over the longest prefix
     * it shares with what was fed before (drafts the target rejected fall out), less at least one token, whose
     * logits give the first draft.
     */
    void begin(int index, int[] context, int length, int wanted) {
        if (tokens.length < length + wanted) {
            tokens = Arrays.copyOf(tokens, Math.max(length + wanted, tokens.length * 2));
        }
        int held = Math.min(computed, length);
        int common = Arrays.mismatch(tokens, 0, held, context, 0, held);
        computed = Math.min(common < 0 ? held : common, length - 1);
        System.arraycopy(context, computed, tokens, computed, length - computed);
        end = length;
        this.index = index;
        this.wanted = wanted;
        this.drafts = 0;
    }

    /** Appends a draft, to be fed for the next one unless it is the last. */
    void extend(int draft) {
        tokens[end++] = draft;
        drafts++;
    }

    boolean done() {
        return drafts == wanted;
    }

    /**
     * The stream sampled drafts are drawn from: seeded from the request's seed alone and drawn by output position,
     * so that a request's drafts do not depend on what arrived before it or on how often it drafted.
     */
    SequenceSampling sampling(SamplingParams params) {
        if (sampling == null) {
            sampling = new SequenceSampling(params.withSeedAndMaxTokens(streamSeed(params.seed()), params.maxTokens()), NO_PROMPT);
        }
        return sampling;
    }

    /** A seed apart from the target's own stream under the same request seed (MurmurHash3's finalizer). */
    private static long streamSeed(long seed) {
        long z = seed ^ 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }
}
