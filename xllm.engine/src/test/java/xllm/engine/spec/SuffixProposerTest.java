package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import xllm.api.SamplingParams;

/**
 * Suffix decoding as a user sees it: a request's own repeated text and earlier requests' outputs come back as
 * drafts, as long and as likely as the knobs allow, and evicted outputs stop coming back.
 */
class SuffixProposerTest {
    static int[] draft(Proposer proposer, long sequenceId, int[] tokens, int promptLength, int maxDrafts) {
        DraftBatch batch = new DraftBatch(1000);
        batch.add(sequenceId, tokens, promptLength, tokens.length, maxDrafts, SamplingParams.greedy(16));
        proposer.propose(batch);
        return Arrays.copyOf(batch.drafts(0), batch.draftCount(0));
    }

    /** Finishes sequence {@code id} with prompt {@code 1000 + id} and {@code output}. */
    static void finish(Proposer proposer, long id, int... output) {
        int[] tokens = new int[output.length + 1];
        tokens[0] = 1000 + (int) id;
        System.arraycopy(output, 0, tokens, 1, output.length);
        proposer.finished(id, tokens, 1, tokens.length);
    }

    @Test
    void aRepeatedLineDraftsTheRestOfThatLine() {
        // vLLM's defaults: depth 24, 10000 cached requests, factor 1, min_token_prob 0.1
        SuffixProposer proposer = new SuffixProposer(new SpeculativeConfig(SpeculativeMethod.SUFFIX, 24, 2, 5, null, 24,
                10000, 1f, 0.1f, 0));
        int nl = 2;
        int[] tokens = {10, 11, 12, 13, 14, 15, 16, nl, 10, 11, 12, 13};
        assertArrayEquals(new int[] {14, 15, 16, nl}, draft(proposer, 1, tokens, tokens.length, 8));
        assertArrayEquals(new int[] {14, 15}, draft(proposer, 1, tokens, tokens.length, 2), "at most maxDrafts");
    }

    @Test
    void aDraftIsAtMostMaxSpecFactorTimesTheMatch() {
        int[] tokens = {10, 11, 12, 13, 14, 15, 16, 17, 10, 11};
        assertArrayEquals(new int[] {12, 13}, draft(new SuffixProposer(24, 0, 1f, 0.1f), 1, tokens, 10, 8));
        assertArrayEquals(new int[] {12, 13, 14, 15, 16, 17}, draft(new SuffixProposer(24, 0, 3f, 0.1f), 1, tokens, 10, 8));
        assertArrayEquals(new int[] {12}, draft(new SuffixProposer(24, 0, 0.5f, 0.1f), 1, tokens, 10, 8));
    }

    @Test
    void noDraftWhenNothingRepeats() {
        SuffixProposer proposer = new SuffixProposer(24, 10, 1f, 0.1f);
        finish(proposer, 1, 40, 41, 42);
        assertArrayEquals(new int[0], draft(proposer, 2, new int[] {1, 2, 3, 4, 5}, 5, 8));
    }

    @Test
    void anEarlierRequestsOutputIsDraftedForALaterRequest() {
        SuffixProposer proposer = new SuffixProposer(24, 10, 1f, 0.1f);
        finish(proposer, 1, 40, 41, 42, 43, 44, 45);
        assertArrayEquals(new int[] {43, 44, 45}, draft(proposer, 2, new int[] {7, 8, 9, 40, 41, 42}, 3, 8));
        // the finished request's prompt is not kept
        assertArrayEquals(new int[0], draft(proposer, 3, new int[] {7, 8, 1001}, 3, 8));
    }

    @Test
    void evictionForgetsWhatOnlyTheOldestOutputContributed() {
        SuffixProposer proposer = new SuffixProposer(24, 2, 1f, 0.1f);
        finish(proposer, 1, 10, 11, 12, 13);
        finish(proposer, 2, 40, 41, 10, 11, 12);
        assertArrayEquals(new int[] {12, 13}, draft(proposer, 3, new int[] {1, 2, 3, 10, 11}, 5, 8));
        finish(proposer, 4, 90, 91); // the third output evicts the first
        assertArrayEquals(new int[] {12}, draft(proposer, 5, new int[] {1, 2, 3, 10, 11}, 5, 8),
                "13 followed only in the evicted output");
        assertArrayEquals(new int[] {10, 11}, draft(proposer, 6, new int[] {1, 2, 40, 41}, 4, 8));
        assertArrayEquals(new int[0], draft(proposer, 7, new int[] {1, 2, 12, 13}, 4, 8));
    }

    @Test
    void noSharedDraftsWithoutCachedRequests() {
        SuffixProposer proposer = new SuffixProposer(24, 0, 1f, 0.1f);
        finish(proposer, 1, 40, 41, 42, 43);
        assertArrayEquals(new int[0], draft(proposer, 2, new int[] {7, 40, 41}, 1, 8));
    }

    @Test
    void minTokenProbStopsADraftAtAnUnlikelyToken() {
        for (float minProb : new float[] {0.5f, 0.8f}) {
            SuffixProposer proposer = new SuffixProposer(24, 10, 1f, minProb);
            finish(proposer, 1, 5, 6, 7);
            finish(proposer, 2, 5, 6, 7);
            finish(proposer, 3, 5, 6, 7);
            finish(proposer, 4, 5, 6, 8);
            // 7 follows '5 6' three times in four
            int[] expected = minProb <= 0.75f ? new int[] {7} : new int[0];
            assertArrayEquals(expected, draft(proposer, 9, new int[] {1, 5, 6}, 3, 8), "min_token_prob " + minProb);
        }
        for (float minProb : new float[] {0.1f, 0.5f}) {
            SuffixProposer proposer = new SuffixProposer(24, 10, 4f, minProb);
            finish(proposer, 1, 5, 6, 7, 1);
            finish(proposer, 2, 5, 6, 7, 2);
            finish(proposer, 3, 5, 6, 7, 3);
            int[] draft = draft(proposer, 9, new int[] {9, 5, 6}, 3, 8);
            // after '5 6 7' each of three tokens has probability 1/3
            assertEquals(minProb < 1f / 3 ? 2 : 1, draft.length, "min_token_prob " + minProb);
            assertEquals(7, draft[0]);
        }
    }

    @Test
    void theMoreLikelyOfTheTwoTreesWins() {
        SuffixProposer proposer = new SuffixProposer(24, 10, 1f, 0.1f);
        finish(proposer, 1, 20, 21, 30, 31);
        // own text: after '20 21' came 22 once, of two occurrences (probability 1/2); earlier output: 30, surely
        assertArrayEquals(new int[] {30, 31}, draft(proposer, 2, new int[] {20, 21, 22, 20, 21}, 5, 8));
        // a longer own match outscores the shared one (2.5 expected tokens against 2)
        int[] own = {17, 18, 19, 20, 21, 22, 23, 24, 25, 9, 17, 18, 19, 20, 21};
        assertArrayEquals(new int[] {22, 23, 24, 25, 9}, draft(proposer, 3, own, own.length, 5));
    }

    @Test
    void incrementalUpdatesDraftAsARebuildFromScratchDoes() {
        Random random = new Random(7);
        for (int trial = 0; trial < 8; trial++) {
            int depth = 4 + random.nextInt(20);
            float factor = 1 + random.nextInt(3);
            int[] stream = random.ints(200, 0, 3 + random.nextInt(3)).toArray();
            int[] earlier = Arrays.copyOfRange(stream, 100, 180);
            int promptLength = 20 + random.nextInt(50);
            SuffixProposer incremental = new SuffixProposer(depth, 10, factor, 0.1f);
            finish(incremental, 100, earlier);
            for (int length = promptLength; length <= stream.length; length += 1 + random.nextInt(3)) {
                int[] tokens = Arrays.copyOf(stream, length + random.nextInt(4)); // room beyond the valid tokens
                SuffixProposer fresh = new SuffixProposer(depth, 10, factor, 0.1f);
                finish(fresh, 100, earlier);
                assertArrayEquals(draftOf(fresh, tokens, promptLength, length),
                        draftOf(incremental, tokens, promptLength, length), "length " + length);
            }
        }
    }

    @Test
    void aSequenceWhoseTokensChangedIsRebuilt() {
        SuffixProposer proposer = new SuffixProposer(24, 0, 1f, 0.1f);
        int[] first = {1, 2, 3, 4, 1, 2};
        assertArrayEquals(new int[] {3, 4}, draft(proposer, 1, first, 4, 8));
        int[] changed = {5, 6, 7, 8, 9, 5, 6};
        assertArrayEquals(new int[] {7, 8}, draft(proposer, 1, changed, 4, 8));
    }

    static int[] draftOf(Proposer proposer, int[] tokens, int promptLength, int length) {
        DraftBatch batch = new DraftBatch(1000);
        batch.add(1, tokens, promptLength, length, 6, SamplingParams.greedy(16));
        proposer.propose(batch);
        return Arrays.copyOf(batch.drafts(0), batch.draftCount(0));
    }
}
