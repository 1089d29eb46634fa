package xllm.engine.sample;

import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.IntHashSet;
import xllm.api.SamplingParams;

/**
 * The sampling state of one sequence: its parameters, its random draws (seeded per request, so the same
 * seed and request give the same output) and the token counts the penalties need. The draw that samples output
 * token {@code n} depends only on the seed and {@code n}, not on how many draws came before: a speculative step
 * that verifies several tokens at once samples each with the very number a plain step would have used.
 * Owned by the engine loop.
 */
public final class SequenceSampling {
    private final SamplingParams params;
    private final Int2IntHashMap generatedCounts = new Int2IntHashMap(0);
    private final IntHashSet promptTokens = new IntHashSet();
    /** Output tokens so far: the index of the token the next draw samples. */
    private long generated;

    public SequenceSampling(SamplingParams params, int[] promptIds) {
        this.params = params;
        if (params.repetitionPenalty() != 1f) {
            for (int id : promptIds) {
                promptTokens.add(id);
            }
        }
    }

    public SamplingParams params() {
        return params;
    }

    /**
     * Continues a generation elsewhere begun: records {@code generated} as if sampled here, so that the next
     * token is the one the first instance would have sampled.
     */
    public void resumeAfter(int[] generated) {
        for (int token : generated) {
            accept(token);
        }
    }

    /**
     * Makes the next draw the one of output token {@code outputIndex}: for a draft model's own stream, whose
     * drafts for a position must not depend on how many it drafted before.
     */
    public void drawFor(long outputIndex) {
        generated = outputIndex;
    }

    /** Records a generated token: for the penalties, and to move the draws on to the next output token. */
    public void accept(int token) {
        if (params.hasPenalties()) {
            generatedCounts.put(token, generatedCounts.get(token) + 1);
        }
        generated++;
    }

    Int2IntHashMap generatedCounts() {
        return generatedCounts;
    }

    boolean seenInPrompt(int token) {
        return promptTokens.contains(token);
    }

    IntHashSet promptTokens() {
        return promptTokens;
    }

    /** The uniform double in [0, 1) that samples the next output token: term {@code generated + 1} of a SplitMix64 stream. */
    double nextDouble() {
        return uniform(params.seed(), generated);
    }

    /**
     * The uniform double in [0, 1) that decides whether the next output token takes a sampled draft: from a stream
     * of its own, so that accepting a draft never shifts the draws that sample tokens.
     */
    double nextAcceptanceDouble() {
        return uniform(params.seed() ^ 0x5DEECE66DL * 0x2545F4914F6CDD1DL, generated);
    }

    private static double uniform(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
