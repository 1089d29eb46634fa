package xllm.engine.sample;

import org.agrona.collections.Int2IntHashMap;
import org.agrona.collections.IntHashSet;
import xllm.api.SamplingParams;

/**
 * The sampling state of one sequence: its parameters, its random stream (seeded per request, so the same
 * seed and request give the same output) and the token counts the penalties need. Owned by the engine loop.
 */
public final class SequenceSampling {
    private final SamplingParams params;
    private final Int2IntHashMap generatedCounts = new Int2IntHashMap(0);
    private final IntHashSet promptTokens = new IntHashSet();
    private long rngState;

    public SequenceSampling(SamplingParams params, int[] promptIds) {
        this.params = params;
        this.rngState = params.seed();
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
     * Continues a generation elsewhere begun: records {@code generated} as if sampled here, random draws
     * included, so that the next token is the one the first instance would have sampled.
     */
    public void resumeAfter(int[] generated) {
        for (int token : generated) {
            accept(token);
            if (!params.isGreedy()) {
                nextDouble();
            }
        }
    }

    /** Records a generated token for the penalties. */
    public void accept(int token) {
        if (params.hasPenalties()) {
            generatedCounts.put(token, generatedCounts.get(token) + 1);
        }
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

    /** Uniform double in [0, 1) from a SplitMix64 stream. */
    double nextDouble() {
        rngState += 0x9E3779B97F4A7C15L;
        long z = rngState;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
