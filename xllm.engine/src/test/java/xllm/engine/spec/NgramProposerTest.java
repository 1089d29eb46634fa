package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import xllm.api.SamplingParams;

/** Prompt lookup as a user sees it: repeated text comes back as the draft, within the n-gram and draft bounds. */
class NgramProposerTest {
    static int[] draft(Proposer proposer, int[] tokens, int maxDrafts) {
        DraftBatch batch = new DraftBatch(1000);
        batch.add(7, tokens, tokens.length, tokens.length, maxDrafts, SamplingParams.greedy(16));
        proposer.propose(batch);
        return Arrays.copyOf(batch.drafts(0), batch.draftCount(0));
    }

    @Test
    void aRepeatedLineDraftsTheRestOfThatLine() {
        int nl = 2;
        int[] tokens = {10, 11, 12, 13, 14, 15, nl, 10, 11, 12};
        assertArrayEquals(new int[] {13, 14, 15, nl}, draft(new NgramProposer(2, 3), tokens, 4));
    }

    @Test
    void theLatestEarlierOccurrenceWins() {
        int[] tokens = {7, 1, 2, 3, 8, 1, 2, 4, 1, 2};
        assertArrayEquals(new int[] {4, 1, 2}, draft(new NgramProposer(2, 2), tokens, 5));
    }

    @Test
    void theLongestNgramWinsOverALaterShorterOne() {
        int[] tokens = {5, 1, 2, 3, 6, 2, 4, 5, 1, 2};
        assertArrayEquals(new int[] {3, 6, 2}, draft(new NgramProposer(1, 3), tokens, 3));
        // with at most one token matched, the latest '2' wins instead
        assertArrayEquals(new int[] {4, 5, 1}, draft(new NgramProposer(1, 1), tokens, 3));
    }

    @Test
    void matchesShorterThanMinAreIgnored() {
        int[] tokens = {1, 2, 3, 4, 5, 3};
        assertArrayEquals(new int[0], draft(new NgramProposer(2, 4), tokens, 4));
        assertArrayEquals(new int[] {4, 5, 3}, draft(new NgramProposer(1, 4), tokens, 4));
    }

    @Test
    void noDraftWhenNothingRepeats() {
        assertArrayEquals(new int[0], draft(new NgramProposer(1, 3), new int[] {1, 2, 3, 4, 5}, 4));
        assertArrayEquals(new int[0], draft(new NgramProposer(1, 3), new int[] {9}, 4));
    }

    @Test
    void draftsStopAtMaxDraftsAndAtTheSequencesEnd() {
        int[] tokens = {1, 2, 3, 4, 5, 6, 1, 2};
        assertArrayEquals(new int[] {3, 4}, draft(new NgramProposer(2, 2), tokens, 2));
        assertArrayEquals(new int[0], draft(new NgramProposer(2, 2), tokens, 0));
        // the occurrence overlaps the end: only what the sequence holds is drafted
        assertArrayEquals(new int[] {1, 2}, draft(new NgramProposer(2, 2), new int[] {1, 2, 1, 2}, 8));
    }

    @Test
    void onlyTheValidTokensOfEachSequenceCount() {
        DraftBatch batch = new DraftBatch(1000);
        int[] a = {1, 2, 3, 1, 2, 99, 99};
        int[] b = {4, 5, 6, 7, 4, 5};
        batch.add(1, a, 2, 5, 4, SamplingParams.greedy(16));
        batch.add(2, b, 2, 6, 1, SamplingParams.greedy(16));
        new NgramProposer(2, 3).propose(batch);
        assertArrayEquals(new int[] {3, 1, 2}, Arrays.copyOf(batch.drafts(0), batch.draftCount(0)));
        assertArrayEquals(new int[] {6}, Arrays.copyOf(batch.drafts(1), batch.draftCount(1)));
    }

    @Test
    void agreesWithTryingEachNFromLongestToShortest() {
        Random random = new Random(3);
        for (int trial = 0; trial < 2000; trial++) {
            int[] tokens = random.ints(1 + random.nextInt(60), 0, 2 + random.nextInt(4)).toArray();
            int minN = 1 + random.nextInt(3);
            int maxN = minN + random.nextInt(4);
            assertEquals(reference(tokens, minN, maxN), NgramProposer.continuation(tokens, tokens.length, minN, maxN),
                    () -> Arrays.toString(tokens) + " n in [" + minN + ", " + maxN + "]");
        }
    }

    /** The definition: for n from max down to min, the latest earlier start of the last n tokens. */
    static int reference(int[] tokens, int minN, int maxN) {
        int length = tokens.length;
        for (int n = maxN; n >= minN; n--) {
            for (int start = length - n - 1; start >= 0; start--) {
                if (Arrays.equals(tokens, start, start + n, tokens, length - n, length)) {
                    return start + n;
                }
            }
        }
        return -1;
    }
}
