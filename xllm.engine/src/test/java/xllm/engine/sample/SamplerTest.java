package xllm.engine.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import xllm.api.SamplingParams;

/** The sampler's choices as a user sees them: reproducible with a seed, truncated as asked, penalized. */
class SamplerTest {
    static final float[] LOGITS = {2.0f, 1.9f, 1.8f, -1f, -2f, 0.5f, 0.4f, 0.3f};

    static int[] draw(SamplingParams p, int n) {
        Sampler sampler = new Sampler(LOGITS.length);
        SequenceSampling state = new SequenceSampling(p, new int[] {7});
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = sampler.sample(LOGITS, 0, state);
            state.accept(out[i]);
        }
        return out;
    }

    static Set<Integer> distinct(int[] xs) {
        Set<Integer> s = new HashSet<>();
        Arrays.stream(xs).forEach(s::add);
        return s;
    }

    @Test
    void greedyPicksTheLargestLogitAndTiesGoToTheLowestId() {
        assertEquals(0, draw(SamplingParams.greedy(1), 1)[0]);
        assertEquals(1, Sampler.argmax(new float[] {0f, 3f, 3f}));
    }

    @Test
    void sameSeedSameOutputDifferentSeedDifferentOutput() {
        SamplingParams a = SamplingParams.builder().temperature(1.5f).seed(42).maxTokens(64).build();
        SamplingParams b = SamplingParams.builder().temperature(1.5f).seed(43).maxTokens(64).build();
        assertEquals(Arrays.toString(draw(a, 64)), Arrays.toString(draw(a, 64)));
        assertNotEquals(Arrays.toString(draw(a, 64)), Arrays.toString(draw(b, 64)));
    }

    @Test
    void topKAndTopPAndMinPKeepOnlyTheLikelyTokens() {
        int[] topK = draw(SamplingParams.builder().temperature(2f).topK(2).seed(1).maxTokens(1).build(), 300);
        assertEquals(Set.of(0, 1), distinct(topK));
        // the three leading logits hold well over half the mass: top_p 0.5 keeps a subset of them
        int[] topP = draw(SamplingParams.builder().temperature(1f).topP(0.5f).seed(2).maxTokens(1).build(), 300);
        assertTrue(Set.of(0, 1, 2).containsAll(distinct(topP)), distinct(topP).toString());
        // min_p 0.5: exp(-0.2) and exp(-0.1) pass, exp(-1.5) (logit 0.5) does not
        int[] minP = draw(SamplingParams.builder().temperature(1f).minP(0.5f).seed(3).maxTokens(1).build(), 300);
        assertEquals(Set.of(0, 1, 2), distinct(minP));
        int[] full = draw(SamplingParams.builder().temperature(1f).seed(4).maxTokens(1).build(), 2000);
        assertTrue(distinct(full).size() >= 6, "untruncated sampling reaches the tail: " + distinct(full));
    }

    @Test
    void penaltiesSteerAwayFromRepeats() {
        // greedy with a strong frequency penalty cannot repeat the leader forever
        int[] penalized = draw(SamplingParams.builder().temperature(0).frequencyPenalty(2f).maxTokens(1).build(), 3);
        assertEquals(3, distinct(penalized).size(), Arrays.toString(penalized));
        int[] presence = draw(SamplingParams.builder().temperature(0).presencePenalty(0.15f).maxTokens(1).build(), 2);
        assertEquals(0, presence[0]);
        assertEquals(1, presence[1], "0.15 presence penalty drops 2.0 below 1.9");
        // repetition penalty also covers prompt tokens: id 7 (logit 0.3) is divided, never chosen over others
        int[] plain = draw(SamplingParams.builder().temperature(0).maxTokens(1).build(), 2);
        assertEquals(0, plain[1], "without penalties greedy repeats itself");
        int[] repeated = draw(SamplingParams.builder().temperature(0).repetitionPenalty(1.2f).maxTokens(1).build(), 2);
        assertEquals(1, repeated[1], "2.0 / 1.2 falls below 1.9");
    }

    static float[] distribution(SamplingParams p) {
        float[] out = new float[LOGITS.length];
        new Sampler(LOGITS.length).distribution(LOGITS, 0, p, out);
        return out;
    }

    static Set<Integer> support(float[] row) {
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < row.length; i++) {
            if (row[i] > 0) {
                s.add(i);
            }
        }
        return s;
    }

    static double sum(float[] row) {
        double total = 0;
        for (float v : row) {
            total += v;
        }
        return total;
    }

    @Test
    void distributionIsNormalizedAndTruncatedAsSamplingIs() {
        float[] greedy = distribution(SamplingParams.greedy(1));
        assertEquals(Set.of(0), support(greedy));
        assertEquals(1f, greedy[0]);
        float[] full = distribution(SamplingParams.builder().temperature(1f).build());
        assertEquals(1.0, sum(full), 1e-5);
        assertEquals(LOGITS.length, support(full).size());
        assertEquals(Math.exp(2.0 - 1.9), full[0] / full[1], 1e-4, "softmax of the logits at temperature 1");
        float[] topK = distribution(SamplingParams.builder().temperature(2f).topK(2).build());
        assertEquals(Set.of(0, 1), support(topK));
        assertEquals(1.0, sum(topK), 1e-5);
        float[] minP = distribution(SamplingParams.builder().temperature(1f).minP(0.5f).build());
        assertEquals(Set.of(0, 1, 2), support(minP));
        assertEquals(1.0, sum(minP), 1e-5);
        // the three leaders hold about 0.29, 0.26 and 0.24 of the mass: top_p 0.5 needs two of them
        float[] topP = distribution(SamplingParams.builder().temperature(1f).topP(0.5f).build());
        assertEquals(Set.of(0, 1), support(topP));
        assertEquals(1.0, sum(topP), 1e-5);
    }

    @Test
    void samplingFollowsTheDistributionItReports() {
        SamplingParams p = SamplingParams.builder().temperature(0.8f).topK(4).seed(9).maxTokens(1).build();
        float[] expected = distribution(p);
        int n = 4000;
        int[] counts = new int[LOGITS.length];
        for (int token : draw(p, n)) {
            counts[token]++;
        }
        for (int i = 0; i < LOGITS.length; i++) {
            assertEquals(expected[i], counts[i] / (double) n, 0.03, "token " + i);
        }
    }

    @Test
    void drawTakesOnlyTokensOfPositiveWeightFromAnUnnormalizedRow() {
        Sampler sampler = new Sampler(4);
        SequenceSampling state = new SequenceSampling(SamplingParams.builder().seed(5).build(), new int[0]);
        float[] weights = {0f, 3f, 0f, 1f};
        int[] counts = new int[4];
        for (int i = 0; i < 2000; i++) {
            int token = sampler.draw(weights, 0, state);
            state.accept(token);
            counts[token]++;
        }
        assertEquals(0, counts[0] + counts[2]);
        assertEquals(0.75, counts[1] / 2000.0, 0.04);
    }
}
