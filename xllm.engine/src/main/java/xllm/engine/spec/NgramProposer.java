package xllm.engine.spec;

/**
 * Prompt lookup, vLLM's {@code ngram} method: finds the latest earlier occurrence of a sequence's last n tokens
 * (the longest n in [min, max] that occurs) and drafts the tokens that followed it, never past the sequence's
 * end. Stateless: nothing is kept between steps and nothing is allocated. Owned by the engine loop thread.
 */
public final class NgramProposer implements Proposer {
    private final int minN;
    private final int maxN;

    /** Matches n-grams of {@code minN} to {@code maxN} tokens, longest first. */
    public NgramProposer(int minN, int maxN) {
        if (minN < 1 || maxN < minN) {
            throw new IllegalArgumentException("n-gram sizes must satisfy 1 <= min <= max, got " + minN + " and " + maxN);
        }
        this.minN = minN;
        this.maxN = maxN;
    }

    /** Matches n-grams of {@code prompt_lookup_min} to {@code prompt_lookup_max} tokens. */
    public NgramProposer(SpeculativeConfig config) {
        this(config.promptLookupMin(), config.promptLookupMax());
    }

    @Override
    public void propose(DraftBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            int maxDrafts = batch.maxDrafts(i);
            if (maxDrafts == 0) {
                continue;
            }
            int[] tokens = batch.tokens(i);
            int length = batch.length(i);
            int start = continuation(tokens, length, minN, maxN);
            if (start >= 0) {
                batch.setDraft(i, tokens, start, Math.min(maxDrafts, length - start));
            }
        }
    }

    @Override
    public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
    }

    /**
     * Where the continuation of the match starts in {@code tokens}: the end of the latest earlier occurrence of
     * the longest suffix of {@code tokens[0 .. length)} with {@code minN <= n <= maxN} tokens; -1 when none occurs.
     */
    static int continuation(int[] tokens, int length, int minN, int maxN) {
        if (length <= minN) {
            return -1;
        }
        int last = tokens[length - 1];
        int bestN = minN - 1;
        int bestEnd = -1;
        // One backwards pass over candidate ends serves every n: the first end that reaches a new best n is the
        // latest occurrence of that n-gram. An end e can hold at most e tokens, so the scan stops below bestN + 1.
        for (int end = length - 1; end > bestN; end--) {
            if (tokens[end - 1] != last) {
                continue;
            }
            int cap = Math.min(maxN, end);
            int n = 1;
            while (n < cap && tokens[end - 1 - n] == tokens[length - 1 - n]) {
                n++;
            }
            if (n > bestN) {
                bestN = n;
                bestEnd = end;
                if (n == maxN) {
                    break;
                }
            }
        }
        return bestEnd;
    }
}
