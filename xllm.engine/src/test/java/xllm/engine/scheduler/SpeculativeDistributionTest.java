package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.spec.DraftBatch;
import xllm.engine.spec.DraftModelProposer;
import xllm.engine.spec.Proposer;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;

/**
 * Speculation at a temperature does not change what a user samples: the tokens drawn with drafts verified by
 * rejection sampling follow the target's own distribution. Thousands of seeded requests with one short prompt
 * run on the qwen2 fixture with and without speculation, and a two-sample chi-square test at significance 0.001
 * compares the second output token, the third, and the pair of them. Those are the first two tokens that
 * speculation decides: the first token comes from the prompt's prefill, before anything is drafted.
 *
 * <p>The speculative and plain runs use different seeds, so that their samples are independent, as the test
 * assumes. Requests run in waves of {@value #WAVE}, each wave on a fresh engine core, drafting at a fixed depth
 * ({@link Speculation#fixedDepth}) so that every request verifies drafts whatever the machine's speed.
 */
class SpeculativeDistributionTest {
    /** Requests per distribution; each run's seeds are consecutive. */
    static final int SAMPLES = 20_000;
    static final int WAVE = 250;
    static final double SIGNIFICANCE = 0.001;
    /** The smallest count a category may expect in each sample; smaller ones are merged into one bin. */
    static final double MIN_EXPECTED = 5;
    /** Tokens told apart in the pair test; the rest of each position's tokens form one class. */
    static final int FREQUENT = 24;
    static final int[] PROMPT = {1, 17, 93, 240, 311, 5, 77, 402};
    static final SpeculativeConfig TWO_DRAFTS = SpeculativeConfig.parse("{\"method\":\"ngram\",\"num_speculative_tokens\":2}");

    static CausalLM target;
    static CausalLM draftModel;
    static ComputePool pool;
    static ModelRunner runner;
    /** The target's own samples, seeds {@code 0 .. SAMPLES)}. */
    static int[][] plain;

    @BeforeAll
    static void load() {
        target = ModelLoader.load(TestData.fixture("arch/qwen2"));
        draftModel = ModelLoader.load(TestData.fixture("arch/llama3"));
        pool = new ComputePool(2);
        runner = new ModelRunner(target, pool, 2 * WAVE + 16, 16);
        plain = sample(null, 0, SAMPLES, new DraftCounts());
    }

    @AfterAll
    static void close() {
        runner.close();
        pool.close();
        draftModel.close();
        target.close();
    }

    /**
     * The outputs of {@code n} requests with seeds from {@code firstSeed}, speculating with a fresh speculation
     * from {@code speculation} per wave (null: none); {@code counts} hears of every verified draft.
     */
    static int[][] sample(Supplier<Speculation> speculation, long firstSeed, int n, DraftCounts counts) {
        int[][] out = new int[n][];
        for (int from = 0; from < n; from += WAVE) {
            int size = Math.min(WAVE, n - from);
            Speculation spec = speculation == null ? null : speculation.get();
            EngineCore core = new EngineCore(runner, new SchedulerConfig(4096, 256, n, true), new int[] {2}, counts, null, spec);
            List<EngineCoreTest.Collector> collectors = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                EngineCoreTest.Collector c = new EngineCoreTest.Collector(new int[1]);
                collectors.add(c);
                long seed = firstSeed + from + i;
                core.submit(new GenerateRequest("s" + seed, PROMPT, params(seed), 0, -1), new int[0], c,
                        System.nanoTime());
            }
            while (core.step()) {
            }
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            for (int i = 0; i < size; i++) {
                out[from + i] = collectors.get(i).output();
                assertEquals(4, out[from + i].length);
            }
            if (spec != null) {
                spec.close();
            }
        }
        return out;
    }

    /**
     * Temperature 0.4 without truncation: the fixtures' random weights give flat distributions that only a low
     * temperature concentrates, and truncation would leave the two models few tokens in common. Four tokens: a
     * fresh policy drafts two for the second and third, and the fourth may come as the bonus of two accepted drafts.
     */
    static SamplingParams params(long seed) {
        return SamplingParams.builder().temperature(0.4f).seed(seed).maxTokens(4).ignoreEos(true).build();
    }

    static Speculation draftModelSpeculation() {
        SpeculativeConfig config = SpeculativeConfig.parse("{\"method\":\"draft\",\"model\":\"" + TestData.fixture("arch/llama3")
                + "\",\"num_speculative_tokens\":2}");
        return new Speculation(config, new DraftModelProposer(draftModel, pool, 2 * WAVE, 16), target.config().vocabSize()).fixedDepth();
    }

    @Test
    void aDraftModelAtTemperatureLeavesTheTargetsDistributionUnchanged() {
        DraftCounts counts = new DraftCounts();
        int[][] speculated = sample(SpeculativeDistributionTest::draftModelSpeculation, SAMPLES, SAMPLES, counts);
        assertSameDistribution(plain, speculated);
        double acceptance = (double) counts.acceptedTokens() / counts.draftTokens();
        assertTrue(counts.draftTokens() >= 2L * SAMPLES, "every request verified two drafts or more: " + counts.draftTokens());
        assertTrue(acceptance > 0.05 && acceptance < 0.95, "drafts were both taken and rejected often: " + acceptance);

        int[][] again = sample(SpeculativeDistributionTest::draftModelSpeculation, SAMPLES, WAVE, new DraftCounts());
        for (int i = 0; i < WAVE; i++) {
            assertArrayEquals(speculated[i], again[i], "seed " + (SAMPLES + i) + " gives the same tokens again");
        }
    }

    @Test
    void deterministicDraftsAtTemperatureLeaveTheTargetsDistributionUnchanged() {
        // draft the tokens the target samples most often second and third: taken now and then
        int[] fixed = {mode(plain, 1), mode(plain, 2)};
        DraftCounts counts = new DraftCounts();
        int[][] speculated = sample(() -> new Speculation(TWO_DRAFTS, new FixedDrafts(fixed), target.config().vocabSize()).fixedDepth(),
                SAMPLES, SAMPLES, counts);
        assertSameDistribution(plain, speculated);
        assertTrue(counts.acceptedTokens() > 0 && counts.acceptedTokens() < counts.draftTokens(),
                "drafts were both taken and rejected: " + counts.acceptedTokens() + " of " + counts.draftTokens());

        int[][] sameSeeds = sample(() -> new Speculation(TWO_DRAFTS, new FixedDrafts(fixed), target.config().vocabSize()).fixedDepth(),
                0, WAVE, new DraftCounts());
        for (int i = 0; i < WAVE; i++) {
            assertArrayEquals(plain[i], sameSeeds[i], "seed " + i + ": deterministic drafts give the very tokens of no speculation");
        }
    }

    @Test
    void theChiSquareTailMatchesTabulatedCriticalValues() {
        // chi-square quantiles at upper tail 0.001 (NIST/SEMATECH table); df 2 is exponential: exp(-x/2)
        assertEquals(0.001, chiSquareTail(10.828, 1), 2e-6);
        assertEquals(0.001, chiSquareTail(2 * Math.log(1000), 2), 1e-12);
        assertEquals(0.001, chiSquareTail(29.588, 10), 2e-6);
        assertEquals(0.001, chiSquareTail(149.449, 100), 2e-6);
        assertEquals(0.5, chiSquareTail(99.334, 100), 1e-4);
        assertEquals(1.0, chiSquareTail(0, 5), 0);
    }

    /** The second token, the third and the pair: each the same distribution in both samples at {@link #SIGNIFICANCE}. */
    static void assertSameDistribution(int[][] a, int[][] b) {
        assertSameDistribution("second token", a, b, out -> out[1]);
        assertSameDistribution("third token", a, b, out -> out[2]);
        Set<Integer> second = frequent(a, b, 1);
        Set<Integer> third = frequent(a, b, 2);
        assertSameDistribution("second and third tokens", a, b,
                out -> (long) (second.contains(out[1]) ? out[1] : -1) << 32 | (third.contains(out[2]) ? out[2] : -1));
    }

    /** The {@value #FREQUENT} tokens most often at output index {@code index} in both samples together. */
    static Set<Integer> frequent(int[][] a, int[][] b, int index) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int[][] sample : List.of(a, b)) {
            for (int[] out : sample) {
                counts.merge(out[index], 1, Integer::sum);
            }
        }
        return counts.entrySet().stream().sorted(Map.Entry.<Integer, Integer>comparingByValue().reversed()).limit(FREQUENT)
                .map(Map.Entry::getKey).collect(Collectors.toSet());
    }

    static void assertSameDistribution(String what, int[][] a, int[][] b, ToLongFunction<int[]> category) {
        Map<Long, int[]> counts = new HashMap<>();
        for (int[] out : a) {
            counts.computeIfAbsent(category.applyAsLong(out), k -> new int[2])[0]++;
        }
        for (int[] out : b) {
            counts.computeIfAbsent(category.applyAsLong(out), k -> new int[2])[1]++;
        }
        ChiSquare test = twoSampleChiSquare(counts.values(), a.length, b.length);
        double p = chiSquareTail(test.statistic(), test.degreesOfFreedom());
        assertTrue(test.degreesOfFreedom() >= 3, what + ": too few bins to compare: " + test);
        assertTrue(p >= SIGNIFICANCE, what + ": the distributions differ, " + test + ", p = " + p);
    }

    record ChiSquare(double statistic, int degreesOfFreedom) {
    }

    /**
     * The two-sample chi-square statistic of per-category counts (each {count in a, count in b}) of samples of sizes
     * {@code na} and {@code nb}, with its degrees of freedom. Categories whose expected count under the null
     * hypothesis falls below {@link #MIN_EXPECTED} in either sample are pooled into one bin (and that bin, if still too
     * small, into the smallest other one).
     */
    static ChiSquare twoSampleChiSquare(Iterable<int[]> categories, int na, int nb) {
        double n = na + nb;
        List<long[]> bins = new ArrayList<>();
        long[] rare = new long[2];
        for (int[] c : categories) {
            double smaller = (c[0] + c[1]) * Math.min(na, nb) / n;
            if (smaller < MIN_EXPECTED) {
                rare[0] += c[0];
                rare[1] += c[1];
            } else {
                bins.add(new long[] {c[0], c[1]});
            }
        }
        if ((rare[0] + rare[1]) * Math.min(na, nb) / n >= MIN_EXPECTED || bins.isEmpty()) {
            bins.add(rare);
        } else if (rare[0] + rare[1] > 0) {
            long[] smallest = bins.get(0);
            for (long[] bin : bins) {
                if (bin[0] + bin[1] < smallest[0] + smallest[1]) {
                    smallest = bin;
                }
            }
            smallest[0] += rare[0];
            smallest[1] += rare[1];
        }
        double statistic = 0;
        for (long[] bin : bins) {
            double total = bin[0] + bin[1];
            double ea = total * na / n;
            double eb = total * nb / n;
            statistic += (bin[0] - ea) * (bin[0] - ea) / ea + (bin[1] - eb) * (bin[1] - eb) / eb;
        }
        return new ChiSquare(statistic, bins.size() - 1);
    }

    /** P(X >= x) for X chi-square distributed with {@code df} degrees of freedom: the regularized upper gamma Q(df/2, x/2). */
    static double chiSquareTail(double x, int df) {
        return x <= 0 ? 1 : upperGamma(df / 2.0, x / 2);
    }

    /** Q(a, x), by its series below x = a + 1 and its continued fraction above (Numerical Recipes 6.2). */
    static double upperGamma(double a, double x) {
        double logPrefix = a * Math.log(x) - x - logGamma(a);
        if (x < a + 1) {
            double term = 1 / a;
            double sum = term;
            for (int k = 1; k < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-15; k++) {
                term *= x / (a + k);
                sum += term;
            }
            return 1 - sum * Math.exp(logPrefix);
        }
        // modified Lentz for 1 / (x + 1 - a - 1(1-a) / (x + 3 - a - 2(2-a) / (x + 5 - a - ...)))
        double tiny = 1e-300;
        double b = x + 1 - a;
        double c = 1 / tiny;
        double d = 1 / b;
        double h = d;
        for (int i = 1; i < 10_000; i++) {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            d = Math.abs(d) < tiny ? tiny : d;
            c = b + an / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-15) {
                break;
            }
        }
        return Math.exp(logPrefix) * h;
    }

    /** ln Γ(a) for a > 0, by Lanczos's approximation (g = 7, nine terms). */
    static double logGamma(double a) {
        double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        if (a < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * a))) - logGamma(1 - a);
        }
        a -= 1;
        double sum = c[0];
        for (int i = 1; i < c.length; i++) {
            sum += c[i] / (a + i);
        }
        double t = a + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (a + 0.5) * Math.log(t) - t + Math.log(sum);
    }

    /** The token most often at output index {@code index}. */
    static int mode(int[][] outputs, int index) {
        Map<Integer, Integer> counts = new HashMap<>();
        for (int[] out : outputs) {
            counts.merge(out[index], 1, Integer::sum);
        }
        return counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    }

    /** Drafts the same tokens for every sequence: {@code tokens[k]} for output index {@code k + 1}. */
    static final class FixedDrafts implements Proposer {
        final int[] tokens;

        FixedDrafts(int[] tokens) {
            this.tokens = tokens;
        }

        @Override
        public void propose(DraftBatch batch) {
            for (int i = 0; i < batch.size(); i++) {
                int next = batch.length(i) - batch.promptLength(i) - 1;
                for (int k = next; k < tokens.length && k - next < batch.maxDrafts(i); k++) {
                    batch.append(i, tokens[k]);
                }
            }
        }

        @Override
        public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
        }
    }
}
