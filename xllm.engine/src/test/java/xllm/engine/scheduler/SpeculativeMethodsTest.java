package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.engine.MtpFixture;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.spec.DraftModelProposer;
import xllm.engine.spec.MtpProposer;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;
import xllm.engine.tokenizer.Tokenizer;

/**
 * Every speculative method, built as a user configures it, leaves greedy output token for token what it is
 * without speculation: ngram, suffix and a draft model on the real pycoder model with real Python prompts, mtp on
 * the DeepSeek-V3 fixture with a prediction module. Alone, and in a batch of eight that mixes prompts that draft a
 * lot with random ones that hardly draft, a seeded request at a temperature, and requests that arrive while the
 * others decode; when memory is short and prompts come in chunks; and in a second wave that finds the first one's
 * prefixes cached. Drafts are verified and taken, every request runs to its length, and every KV block, the
 * proposer's included, is free again at the end. A seeded request at a temperature keeps its tokens too, except
 * with a draft model, whose drafts are sampled: their verification keeps its distribution, not its tokens
 * ({@link SpeculativeDistributionTest}), and its seed still gives the same tokens every time.
 */
class SpeculativeMethodsTest {
    static final long DRAFT_KV_BYTES = 32L << 20;

    @TempDir
    static Path mtpDir;
    static ComputePool pool;
    static CausalLM pycoder;
    static CausalLM deepseek;
    static List<Wave> pycoderWaves;
    static List<Wave> deepseekWaves;
    /** Outputs without speculation, per model: each wave's requests in order. */
    static final Map<CausalLM, List<int[][]>> plain = new HashMap<>();

    /** Requests submitted together, some of them a few steps late; a wave starts once the one before has finished. */
    record Wave(List<GenerateRequest> requests, int[] submitAtStep) {
    }

    /** What a run gave: each wave's outputs, the drafts verified and taken in each wave, and the preemptions. */
    record Run(List<int[][]> outputs, long[] drafted, long[] accepted, long preemptions) {
    }

    @BeforeAll
    static void load() {
        pool = new ComputePool(2);
        pycoder = ModelLoader.load(TestData.model("pycoder-22m"));
        MtpFixture.withRepeatingModule(mtpDir);
        deepseek = ModelLoader.load(mtpDir);
        Tokenizer tokenizer = Tokenizer.forModel(TestData.model("pycoder-22m"));
        int[][] code = new int[SNIPPETS.length][];
        for (int i = 0; i < code.length; i++) {
            code[i] = tokenizer.encode(SNIPPETS[i], false);
        }
        pycoderWaves = List.of(mixedBatch(code, 100, 8000), secondWave(code));
        int[][] patterns = repetitive();
        deepseekWaves = List.of(mixedBatch(patterns, 3, 512), secondWave(patterns));
        plain.put(pycoder, run(pycoder, pycoderWaves, null).outputs());
        plain.put(deepseek, run(deepseek, deepseekWaves, null).outputs());
    }

    @AfterAll
    static void close() {
        deepseek.close();
        pycoder.close();
        pool.close();
    }

    static final String[] SNIPPETS = {
            """
            import math


            def scale_1(values, factor=1):
                \"\"\"Return the values multiplied by 1.\"\"\"
                return [math.floor(v * factor) for v in values]


            def scale_2(values, factor=2):
                \"\"\"Return the values multiplied by 2.\"\"\"
                return [math.floor(v * factor) for v in values]


            def scale_3(values, factor=3):
                \"\"\"Return the values multiplied by 3.\"\"\"
                return [math.floor(v * factor) for v in values]


            def scale_4(""",
            """
            class Point:
                def __init__(self, x, y, z):
                    self.x = x
                    self.y = y
                    self.z = z

                def __repr__(self):
                    return f"Point(x={self.x}, y={self.y}, z={self.z})"

                def __add__(self, other):
                    return Point(self.x + other.x, self.y + other.y, self.z + other.z)

                def __sub__(self, other):
                    return Point(self.x - other.x, self.y - other.y, self.z - other.z)

                def __mul__(self, other):
                    return Point(""",
            """
            def test_parse_int():
                assert parse("1") == 1
                assert parse("12") == 12
                assert parse("123") == 123


            def test_parse_float():
                assert parse("1.5") == 1.5
                assert parse("12.5") == 12.5
                assert parse("123.5") == 123.5


            def test_parse_negative():
                assert parse("-1") == -1
                assert parse(""",
            """
            COLORS = {
                "red": (255, 0, 0),
                "green": (0, 255, 0),
                "blue": (0, 0, 255),
                "yellow": (255, 255, 0),
                "cyan": (0, 255, 255),
                "magenta": (""",
    };

    /**
     * Eight requests: four code prompts (the fourth sampled at a temperature, seeded), two random ones, and a code
     * prompt and a random one that arrive after 3 and 6 steps.
     */
    static Wave mixedBatch(int[][] code, int minId, int maxId) {
        SamplingParams.Builder greedy = SamplingParams.builder().temperature(0).ignoreEos(true);
        List<GenerateRequest> requests = List.of(
                request("code0", code[0], greedy.maxTokens(64)),
                request("code1", code[1], greedy.maxTokens(48)),
                request("code2", code[2], greedy.maxTokens(40)),
                request("random0", random(1, 40, minId, maxId), greedy.maxTokens(40)),
                request("random1", random(2, 17, minId, maxId), greedy.maxTokens(40)),
                request("sampled", code[3], SamplingParams.builder().temperature(0.8f).topP(0.9f).seed(42)
                        .ignoreEos(true).maxTokens(40)),
                request("late-code", code[3], greedy.maxTokens(48)),
                request("late-random", random(3, 25, minId, maxId), greedy.maxTokens(40)));
        return new Wave(requests, new int[] {0, 0, 0, 0, 0, 0, 3, 6});
    }

    /** After the first wave: two of its prompts again, and two code prompts cut short, which its outputs continue. */
    static Wave secondWave(int[][] code) {
        SamplingParams.Builder greedy = SamplingParams.builder().temperature(0).ignoreEos(true).maxTokens(40);
        List<GenerateRequest> requests = List.of(
                request("again-code0", code[0], greedy),
                request("again-code2", code[2], greedy),
                request("half-code1", Arrays.copyOf(code[1], code[1].length / 2), greedy),
                request("half-code3", Arrays.copyOf(code[3], code[3].length / 2), greedy));
        return new Wave(requests, new int[] {0, 0, 0, 2});
    }

    /** Prompts for the fixture, which has no tokenizer: short token patterns repeated. */
    static int[][] repetitive() {
        int[][] prompts = new int[4][];
        for (int p = 0; p < prompts.length; p++) {
            int[] pattern = random(10 + p, 5 + p, 3, 512);
            prompts[p] = new int[48];
            for (int i = 0; i < prompts[p].length; i++) {
                prompts[p][i] = pattern[i % pattern.length];
            }
        }
        return prompts;
    }

    static GenerateRequest request(String id, int[] prompt, SamplingParams.Builder params) {
        return new GenerateRequest(id, prompt, params.build(), 0, -1);
    }

    static int[] random(long seed, int length, int minId, int maxId) {
        return new SplittableRandom(seed).ints(length, minId, maxId).toArray();
    }

    /** Runs the waves through one engine core speculating as {@code config} says (null: not at all). */
    static Run run(CausalLM model, List<Wave> waves, String config) {
        return run(model, waves, config, SchedulerConfig.defaults(), 512);
    }

    /** {@link #run(CausalLM, List, String)} within the step budget of {@code scheduler} and {@code kvBlocks} KV blocks. */
    static Run run(CausalLM model, List<Wave> waves, String config, SchedulerConfig scheduler, int kvBlocks) {
        try (ModelRunner runner = new ModelRunner(model, pool, kvBlocks, 16);
             Speculation speculation = config == null ? null
                     : Speculation.create(SpeculativeConfig.parse(config), runner, pool, DRAFT_KV_BYTES).fixedDepth()) {
            SpeculativeEngineTest.DraftMetrics counts = new SpeculativeEngineTest.DraftMetrics();
            EngineCore core = new EngineCore(runner, scheduler, new int[] {0}, counts, null, speculation);
            List<int[][]> outputs = new ArrayList<>();
            long[] drafted = new long[waves.size()];
            long[] accepted = new long[waves.size()];
            for (int w = 0; w < waves.size(); w++) {
                Wave wave = waves.get(w);
                long draftedBefore = counts.drafted;
                long acceptedBefore = counts.accepted;
                EngineCoreTest.Collector[] collectors = new EngineCoreTest.Collector[wave.requests().size()];
                int[] step = {0};
                int submitted = 0;
                while (true) {
                    for (int i = 0; i < wave.requests().size(); i++) {
                        if (wave.submitAtStep()[i] == step[0]) {
                            collectors[i] = new EngineCoreTest.Collector(step);
                            core.submit(wave.requests().get(i), new int[0], collectors[i], System.nanoTime());
                            submitted++;
                        }
                    }
                    if (!core.step() && submitted == wave.requests().size()) {
                        break;
                    }
                    step[0]++;
                }
                int[][] out = new int[collectors.length][];
                for (int i = 0; i < out.length; i++) {
                    out[i] = collectors[i].output();
                    assertEquals(wave.requests().get(i).params().maxTokens(), out[i].length, wave.requests().get(i).requestId());
                }
                outputs.add(out);
                drafted[w] = counts.drafted - draftedBefore;
                accepted[w] = counts.accepted - acceptedBefore;
            }
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            if (speculation != null && speculation.proposer() instanceof DraftModelProposer draft) {
                assertEquals(draft.totalBlocks(), draft.freeBlocks(), "every block of the draft model's cache is free again");
            }
            if (speculation != null && speculation.proposer() instanceof MtpProposer mtp) {
                assertEquals(0, mtp.trackedSequences(), "the mtp proposer holds no sequence's state");
            }
            return new Run(outputs, drafted, accepted, counts.preemptions);
        }
    }

    static String config(String method) {
        return switch (method) {
            case "draft" -> "{\"method\":\"draft\",\"model\":\"" + TestData.model("pycoder-draft-4m") + "\",\"num_speculative_tokens\":4}";
            case "mtp" -> "{\"method\":\"mtp\",\"num_speculative_tokens\":3}";
            default -> "{\"method\":\"" + method + "\",\"num_speculative_tokens\":5}";
        };
    }

    static CausalLM target(String method) {
        return method.equals("mtp") ? deepseek : pycoder;
    }

    static List<Wave> waves(String method) {
        return method.equals("mtp") ? deepseekWaves : pycoderWaves;
    }

    /** Checks a wave's outputs against those without speculation, the sampled request too unless its drafts were sampled. */
    static void assertUnchanged(String method, Wave wave, int[][] expected, int[][] actual) {
        for (int i = 0; i < expected.length; i++) {
            String id = wave.requests().get(i).requestId();
            if (method.equals("draft") && !wave.requests().get(i).params().isGreedy()) {
                continue; // the draft model samples its drafts: the same distribution, not the same tokens
            }
            assertArrayEquals(expected[i], actual[i], method + ": " + id);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ngram", "suffix", "draft", "mtp"})
    void aLoneGreedyRequestGetsTheSameTokens(String method) {
        Wave alone = new Wave(List.of(waves(method).get(0).requests().get(0)), new int[] {0});
        Run run = run(target(method), List.of(alone), config(method));
        assertArrayEquals(plain.get(target(method)).get(0)[0], run.outputs().get(0)[0], method);
        assertTrue(run.accepted()[0] > 0, method + ": drafts were taken, " + run.accepted()[0] + " of " + run.drafted()[0]);
    }

    /**
     * The batch of eight, then a second wave once it finished: the second finds prompts of the first in the prefix
     * cache, and suffix decoding's global tree holds the first wave's outputs, which it drafts from.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ngram", "suffix", "draft", "mtp"})
    void aMixedBatchOfEightThenASecondWaveGetTheSameTokens(String method) {
        Run run = run(target(method), waves(method), config(method));
        for (int w = 0; w < waves(method).size(); w++) {
            assertUnchanged(method, waves(method).get(w), plain.get(target(method)).get(w), run.outputs().get(w));
            assertTrue(run.accepted()[w] > 0, method + ": wave " + w + " took drafts, " + run.accepted()[w] + " of " + run.drafted()[w]);
        }
    }

    /**
     * The batch of eight in steps of 32 tokens and 24 blocks of 16 slots: prompts of up to 135 tokens come in chunks,
     * drafts are cut to the budget, and the eight requests cannot all hold their KV at once, so some are preempted.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ngram", "suffix", "draft", "mtp"})
    void preemptionAndChunkedPrefillsKeepTheSameTokens(String method) {
        Wave batch = waves(method).get(0);
        Run run = run(target(method), List.of(batch), config(method), new SchedulerConfig(32, 8, 1024, true), 24);
        assertUnchanged(method, batch, plain.get(target(method)).get(0), run.outputs().get(0));
        assertTrue(run.preemptions() > 0, method + ": memory was short");
        assertTrue(run.drafted()[0] > 0, method + ": drafts were verified");
    }

    /**
     * A draft model at a temperature samples its drafts, so its requests keep their distribution rather than their
     * tokens; their seed still gives the same tokens every time: run again, and run alone rather than in the batch.
     */
    @Test
    void aSeededRequestWithSampledDraftsGetsTheSameTokensEveryTime() {
        Wave batch = pycoderWaves.get(0);
        int sampled = 5;
        GenerateRequest request = batch.requests().get(sampled);
        int[] first = run(pycoder, List.of(batch), config("draft")).outputs().get(0)[sampled];
        int[] again = run(pycoder, List.of(batch), config("draft")).outputs().get(0)[sampled];
        int[] alone = run(pycoder, List.of(new Wave(List.of(request), new int[] {0})), config("draft")).outputs().get(0)[0];
        assertArrayEquals(first, again, "the same batch again");
        assertArrayEquals(first, alone, "the request alone");
    }
}
