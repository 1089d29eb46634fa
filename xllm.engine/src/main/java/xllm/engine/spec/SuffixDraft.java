package xllm.engine.spec;

import java.util.Arrays;

/**
 * One suffix-tree draft: its tokens, its score (the expected number of accepted tokens, the sum of each draft
 * token's estimated probability) and the length of the context match it continues. Reused from step to step.
 */
final class SuffixDraft {
    private int[] tokens = new int[16];
    private int count;
    private float score;
    private int matchLength;

    void clear() {
        count = 0;
        score = 0;
        matchLength = 0;
    }

    void set(int[] source, int count, float score, int matchLength) {
        if (tokens.length < count) {
            tokens = Arrays.copyOf(tokens, Math.max(count, 2 * tokens.length));
        }
        System.arraycopy(source, 0, tokens, 0, count);
        this.count = count;
        this.score = score;
        this.matchLength = matchLength;
    }

    /** The draft, the first {@link #count} valid. */
    int[] tokens() { return tokens; }
    int count() { return count; }
    float score() { return score; }
    int matchLength() { return matchLength; }
}
