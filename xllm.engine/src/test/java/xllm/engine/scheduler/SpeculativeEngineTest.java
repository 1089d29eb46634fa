package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
import xllm.engine.spec.Proposer;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;

/**
 * Speculation inside continuous batching, on the real default model, with a proposer whose drafts are known:
 * the true continuation, spoiled on purpose at some positions, so that drafts are accepted, rejected part way
 * and rolled back. Whatever is accepted or rejected, each request's output is token for token what it is
 * without speculation, alone, greedy or seeded; memory and the prefix cache stay right.
 */
class SpeculativeEngineTest {
    static CausalLM model;
    static ComputePool pool;

    @BeforeAll
    static void load() {
        model = ModelLoader.load(TestData.model("pycoder-22m"));
        pool = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    /**
     * Drafts the known continuation of each prompt, with the draft's token at a varying index replaced on
     * most steps; drafts nothing for prompts of odd length (requests that do not speculate, mixed in) or
     * prompts it does not know.
     */
    static final class ScriptedProposer implements Proposer {
        final Map<Integer, int[]> continuations = new HashMap<>();
        final List<Long> finished = new ArrayList<>();
        int proposals;

        void know(int[] prompt, int[] output) {
            int[] all = Arrays.copyOf(prompt, prompt.length + output.length);
            System.arraycopy(output, 0, all, prompt.length, output.length);
            continuations.put(Arrays.hashCode(prompt), all);
        }

        @Override
        public void propose(DraftBatch batch) {
            for (int i = 0; i < batch.size(); i++) {
                int promptLength = batch.promptLength(i);
                if (promptLength % 2 == 1) {
                    continue;
                }
                int[] all = continuations.get(Arrays.hashCode(Arrays.copyOf(batch.tokens(i), promptLength)));
                if (all == null) {
                    continue;
                }
                int length = batch.length(i);
                for (int k = 0; k < batch.maxDrafts(i) && length + k < all.length; k++) {
                    int token = all[length + k];
                    boolean spoil = (proposals % 4 != 0) && k == proposals % batch.maxDrafts(i);
                    batch.append(i, spoil ? (token + 1) % 1000 : token);
                }
                proposals++;
            }
        }

        @Override
        public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
            finished.add(sequenceId);
        }
    }

    /** Counts the drafts the core reports. */
    static final class DraftMetrics extends EngineCoreTest.CountingMetrics {
        long drafted;
        long accepted;
        long steps;

        @Override
        public void speculated(int drafted, int accepted) {
            this.drafted += drafted;
            this.accepted += accepted;
            steps++;
        }
    }

    static List<EngineCoreTest.Collector> run(SchedulerConfig config, int kvBlocks, List<GenerateRequest> requests,
                                              EngineCoreTest.CountingMetrics metrics, Proposer proposer) {
        Speculation speculation = proposer == null ? null
                : new Speculation(SpeculativeConfig.parse("{\"method\":\"ngram\",\"num_speculative_tokens\":5}"), proposer,
                model.config().vocabSize());
        try (ModelRunner runner = new ModelRunner(model, pool, kvBlocks, 16)) {
            EngineCore core = new EngineCore(runner, config, new int[] {0}, metrics, null, speculation);
            int[] step = {0};
            List<EngineCoreTest.Collector> out = new ArrayList<>();
            for (GenerateRequest r : requests) {
                EngineCoreTest.Collector c = new EngineCoreTest.Collector(step);
                out.add(c);
                core.submit(r, new int[0], c, System.nanoTime());
            }
            while (core.step()) {
                step[0]++;
            }
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            return out;
        }
    }

    static int[] alone(GenerateRequest r) {
        return run(SchedulerConfig.defaults(), 512, List.of(r), new EngineCoreTest.CountingMetrics(), null).get(0).output();
    }

    static List<GenerateRequest> requests(int n, SamplingParams.Builder params) {
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(new GenerateRequest("r" + i, EngineCoreTest.prompt(i, 6 + 5 * i),
                    params.seed(1000 + i).maxTokens(20 + 3 * i).build(), 0, -1));
        }
        return requests;
    }

    /** Runs the requests with the scripted proposer and checks each output against the request run alone without it. */
    static DraftMetrics assertUnchanged(List<GenerateRequest> requests, SchedulerConfig config, int kvBlocks) {
        ScriptedProposer proposer = new ScriptedProposer();
        List<int[]> reference = new ArrayList<>();
        for (GenerateRequest r : requests) {
            int[] out = alone(r);
            reference.add(out);
            proposer.know(r.promptIds(), out);
        }
        DraftMetrics metrics = new DraftMetrics();
        List<EngineCoreTest.Collector> together = run(config, kvBlocks, requests, metrics, proposer);
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(reference.get(i), together.get(i).output(), "request " + i);
        }
        assertEquals(requests.size(), proposer.finished.size(), "the proposer hears of every sequence's end");
        assertTrue(metrics.accepted > 0 && metrics.accepted < metrics.drafted,
                "drafts were both accepted and rejected: " + metrics.accepted + " of " + metrics.drafted);
        assertEquals(metrics.firstTokens + metrics.laterTokens,
                together.stream().mapToInt(c -> c.output().length).sum(), "every token is reported once");
        return metrics;
    }

    static SamplingParams.Builder greedy() {
        return SamplingParams.builder().temperature(0).ignoreEos(true);
    }

    @Test
    void greedyOutputIsUnchangedAloneWithDraftsRightAndWrong() {
        for (int i = 0; i < 2; i++) {
            DraftMetrics metrics = assertUnchanged(requests(1, greedy()).subList(0, 1), SchedulerConfig.defaults(), 512);
            assertTrue(metrics.steps > 0);
        }
        GenerateRequest r = requests(1, greedy()).get(0);
        ScriptedProposer proposer = new ScriptedProposer();
        proposer.know(r.promptIds(), alone(r));
        EngineCoreTest.Collector c = run(SchedulerConfig.defaults(), 512, List.of(r), new DraftMetrics(), proposer).get(0);
        int steps = c.steps.get(c.steps.size() - 1) + 1;
        assertTrue(steps < r.params().maxTokens(), "several tokens a step: " + r.params().maxTokens() + " tokens in " + steps + " steps");
    }

    @Test
    void greedyOutputIsUnchangedInABatchOfEightMixedWithRequestsThatDoNotSpeculate() {
        assertUnchanged(requests(8, greedy()), SchedulerConfig.defaults(), 512);
    }

    @Test
    void seededSamplingIsUnchangedWithDeterministicDrafts() {
        SamplingParams.Builder sampled = SamplingParams.builder().temperature(0.9f).topP(0.95f).ignoreEos(true);
        assertUnchanged(requests(8, sampled), SchedulerConfig.defaults(), 512);
        assertUnchanged(requests(4, SamplingParams.builder().temperature(1.2f).repetitionPenalty(1.3f).ignoreEos(true)),
                SchedulerConfig.defaults(), 512);
    }

    @Test
    void preemptionAndSmallStepBudgetsKeepOutputsUnchanged() {
        // 14 blocks of 16 slots cannot hold eight sequences of 26 to 82 tokens: some are preempted and recomputed
        DraftMetrics metrics = assertUnchanged(requests(8, greedy()), new SchedulerConfig(48, 64, 1024, true), 14);
        assertTrue(metrics.preemptions > 0, "memory was short");
    }

    @Test
    void prefixCacheHoldsOnlyAcceptedTokens() {
        GenerateRequest first = requests(1, greedy()).get(0);
        int[] firstOutput = alone(first);
        ScriptedProposer proposer = new ScriptedProposer();
        proposer.know(first.promptIds(), firstOutput);
        int[] longer = Arrays.copyOf(first.promptIds(), first.promptLength() + firstOutput.length);
        System.arraycopy(firstOutput, 0, longer, first.promptLength(), firstOutput.length);
        GenerateRequest second = new GenerateRequest("second", longer, greedy().maxTokens(12).build(), 0, -1);
        int[] secondAlone = alone(second);
        DraftMetrics metrics = new DraftMetrics();
        Speculation speculation = new Speculation(SpeculativeConfig.parse("{\"method\":\"ngram\",\"num_speculative_tokens\":5}"),
                proposer, model.config().vocabSize());
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new int[] {0}, metrics, null, speculation);
            EngineCoreTest.Collector a = new EngineCoreTest.Collector(new int[1]);
            core.submit(first, new int[0], a, System.nanoTime());
            while (core.step()) {
            }
            assertArrayEquals(firstOutput, a.output());
            EngineCoreTest.Collector b = new EngineCoreTest.Collector(new int[1]);
            core.submit(second, new int[0], b, System.nanoTime());
            while (core.step()) {
            }
            assertArrayEquals(secondAlone, b.output(), "a prompt reusing blocks cached during speculation continues the same");
            assertTrue(b.usage.cachedPromptTokens() >= 16, "the first request's blocks were reused: " + b.usage.cachedPromptTokens());
        }
        assertTrue(metrics.drafted > metrics.accepted);
    }

    @Test
    void draftsThatAreNeverRightChangeNothing() {
        List<GenerateRequest> requests = requests(4, greedy());
        Proposer wrong = new Proposer() {
            final SplittableRandom random = new SplittableRandom(7);

            @Override
            public void propose(DraftBatch batch) {
                for (int i = 0; i < batch.size(); i++) {
                    for (int k = 0; k < batch.maxDrafts(i); k++) {
                        batch.append(i, random.nextInt(100, 8000));
                    }
                }
            }

            @Override
            public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
            }
        };
        List<EngineCoreTest.Collector> out = run(SchedulerConfig.defaults(), 512, requests, new DraftMetrics(), wrong);
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone(requests.get(i)), out.get(i).output(), "request " + i);
        }
    }
}
