package xllm.sched;

import java.util.Arrays;

/**
 * Cumulative speculative-decoding counts, as vLLM's {@code spec_decode} counters report them: drafts
 * verified, tokens drafted, tokens accepted, and tokens accepted at each position of a draft. A value; the
 * array is copied in and must not be changed through the accessor.
 */
public record SpecDecodeCounts(long drafts, long draftTokens, long acceptedTokens, long[] acceptedAtPosition) {
    public static final SpecDecodeCounts NONE = new SpecDecodeCounts(0, 0, 0, new long[0]);

    public SpecDecodeCounts {
        acceptedAtPosition = acceptedAtPosition.clone();
    }

    /** The sum of both, position by position; positions that only one has count as they are. */
    public SpecDecodeCounts plus(SpecDecodeCounts other) {
        long[] at = Arrays.copyOf(acceptedAtPosition, Math.max(acceptedAtPosition.length, other.acceptedAtPosition.length));
        for (int i = 0; i < other.acceptedAtPosition.length; i++) {
            at[i] += other.acceptedAtPosition[i];
        }
        return new SpecDecodeCounts(drafts + other.drafts, draftTokens + other.draftTokens, acceptedTokens + other.acceptedTokens, at);
    }
}
