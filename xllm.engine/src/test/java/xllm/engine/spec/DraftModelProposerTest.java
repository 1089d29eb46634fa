package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;
import xllm.engine.tokenizer.Tokenizer;

/**
 * The draft model proposer on the real draft model: greedy drafts are the draft model's own continuation, alone
 * or batched, after rejected drafts too; sampled drafts come with their distribution and reproduce.
 */
class DraftModelProposerTest {
    static final SamplingParams GREEDY = SamplingParams.builder().temperature(0).maxTokens(64).ignoreEos(true).build();

    static CausalLM draft;
    static ComputePool pool;
    static ModelRunner referenceRunner;
    static OfflineGenerator reference;
    static int[] code;
    static int vocab;

    @BeforeAll
    static void load() {
        draft = ModelLoader.load(TestData.model("pycoder-draft-4m"));
        pool = new ComputePool(2);
        referenceRunner = new ModelRunner(draft, pool, 256, 16);
        reference = new OfflineGenerator(referenceRunner, 2048);
        code = Tokenizer.forModel(TestData.model("pycoder-draft-4m")).encode(source(80), false);
        vocab = draft.config().vocabSize();
    }

    @AfterAll
    static void close() {
        referenceRunner.close();
        pool.close();
        draft.close();
    }

    /** Python source long enough for the longest context here. */
    static String source(int functions) {
        StringBuilder sb = new StringBuilder("import math\n\n\n");
        for (int i = 0; i < functions; i++) {
            sb.append("def scale_").append(i).append("(values, factor=").append(i + 1).append("):\n")
                    .append("    \"\"\"Return the values multiplied by ").append(i + 1).append(".\"\"\"\n")
                    .append("    return [math.floor(v * factor) for v in values]\n\n\n");
        }
        return sb.toString();
    }

    static int[] context(int length) {
        assertTrue(code.length >= length, "the source has " + code.length + " tokens");
        return Arrays.copyOf(code, length);
    }

    static int[] concat(int[] a, int... b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The draft model's own greedy continuation of {@code context}, {@code k} tokens. */
    static int[] greedyContinuation(int[] context, int k) {
        SamplingParams p = SamplingParams.builder().temperature(0).maxTokens(k).ignoreEos(true).build();
        return reference.generate(List.of(new GenerationRequest(context, p)), TokenListener.NONE).get(0).tokenIds();
    }

    static int[] drafts(DraftBatch batch, int i) {
        return Arrays.copyOf(batch.drafts(i), batch.draftCount(i));
    }

    /** Proposes once for one sequence. */
    static int[] proposeAlone(DraftModelProposer proposer, long id, int[] context, int k, SamplingParams p) {
        DraftBatch batch = new DraftBatch(vocab);
        batch.add(id, context, context.length, context.length, k, p);
        proposer.propose(batch);
        return drafts(batch, 0);
    }

    @Test
    void greedyDraftsAreTheDraftModelsOwnContinuation() {
        int[] prompt = context(40);
        try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 64, 16)) {
            assertArrayEquals(greedyContinuation(prompt, 5), proposeAlone(proposer, 1, prompt, 5, GREEDY));
        }
    }

    @Test
    void batchedProposalsEqualSoloOnes() {
        // 1500 + 900 + 20 tokens to catch up take more than one pass's budget: the long ones are chunked
        int[][] contexts = {context(1500), context(900), context(20), context(30)};
        int[] maxDrafts = {3, 5, 2, 0};
        int[][] solo = new int[contexts.length][];
        try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 256, 16)) {
            for (int i = 0; i < contexts.length; i++) {
                solo[i] = proposeAlone(proposer, i, contexts[i], maxDrafts[i], GREEDY);
                proposer.finished(i, contexts[i], contexts[i].length, contexts[i].length);
            }
        }
        try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 256, 16)) {
            DraftBatch batch = new DraftBatch(vocab);
            for (int i = 0; i < contexts.length; i++) {
                batch.add(10 + i, contexts[i], contexts[i].length, contexts[i].length, maxDrafts[i], GREEDY);
            }
            proposer.propose(batch);
            for (int i = 0; i < contexts.length; i++) {
                assertEquals(maxDrafts[i], batch.draftCount(i), "sequence " + i);
                assertArrayEquals(solo[i], drafts(batch, i), "sequence " + i);
                assertFalse(batch.sampled(i));
            }
        }
        assertArrayEquals(greedyContinuation(contexts[2], 2), solo[2]);
    }

    @Test
    void rejectedDraftsAreRolledBackAndEveryBlockComesBack() {
        int[] prompt = context(37);
        try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 32, 16)) {
            int[] first = proposeAlone(proposer, 7, prompt, 4, GREEDY);
            assertArrayEquals(greedyContinuation(prompt, 4), first);

            // the target took the first draft, then sampled a token other than the second
            int[] rejected = concat(prompt, first[0], (first[1] + 1) % vocab);
            assertArrayEquals(greedyContinuation(rejected, 4), proposeAlone(proposer, 7, rejected, 4, GREEDY));

            // a second sequence alongside; then the first takes two drafts, its bonus token being the draft's own
            int[] other = context(21);
            proposeAlone(proposer, 8, other, 3, GREEDY);
            int[] second = proposeAlone(proposer, 7, rejected, 4, GREEDY);
            int[] accepted = concat(rejected, second[0], second[1]);
            assertArrayEquals(greedyContinuation(accepted, 4), proposeAlone(proposer, 7, accepted, 4, GREEDY));
            assertTrue(proposer.freeBlocks() < proposer.totalBlocks());

            proposer.finished(7, accepted, prompt.length, accepted.length);
            proposer.finished(8, other, other.length, other.length);
            assertEquals(proposer.totalBlocks(), proposer.freeBlocks(), "every draft KV block is free again");
        }
    }

    @Test
    void sampledDraftsRecordTheirDistributionAndReproduceWithASeed() {
        SamplingParams hot = SamplingParams.builder().temperature(0.9f).topP(0.95f).seed(1234).maxTokens(64).build();
        int k = 4;
        int[][] contexts = {context(50), context(33)};
        DraftBatch[] runs = new DraftBatch[2];
        for (int r = 0; r < runs.length; r++) {
            try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 64, 16)) {
                DraftBatch batch = new DraftBatch(vocab);
                batch.add(3, contexts[0], contexts[0].length, contexts[0].length, k, hot);
                batch.add(4, contexts[1], contexts[1].length, contexts[1].length, k, GREEDY);
                proposer.propose(batch);
                runs[r] = batch;
            }
        }
        DraftBatch batch = runs[0];
        assertTrue(batch.sampled(0));
        assertFalse(batch.sampled(1), "a greedy sequence in the same batch gets deterministic drafts");
        assertEquals(k, batch.draftCount(0));
        for (int d = 0; d < k; d++) {
            double sum = 0;
            for (int t = 0; t < vocab; t++) {
                sum += batch.draftProbabilities(0)[d * vocab + t];
            }
            assertEquals(1.0, sum, 1e-4, "draft " + d + "'s distribution");
            assertTrue(batch.draftProbabilities(0)[d * vocab + batch.drafts(0)[d]] > 0, "draft " + d + " is possible");
        }
        assertArrayEquals(drafts(runs[0], 0), drafts(runs[1], 0), "the same seed drafts the same tokens");
        assertArrayEquals(Arrays.copyOf(runs[0].draftProbabilities(0), k * vocab),
                Arrays.copyOf(runs[1].draftProbabilities(0), k * vocab));
        assertArrayEquals(greedyContinuation(contexts[1], k), drafts(batch, 1));
    }

    @Test
    void aSequenceTheCacheCannotHoldGoesWithoutDrafts() {
        int[] tooLong = context(100); // 102 tokens need 7 blocks of 16; the cache has 4
        int[] small = context(10);
        try (DraftModelProposer proposer = new DraftModelProposer(draft, pool, 4, 16)) {
            DraftBatch batch = new DraftBatch(vocab);
            batch.add(1, tooLong, tooLong.length, tooLong.length, 3, GREEDY);
            batch.add(2, small, small.length, small.length, 3, GREEDY);
            proposer.propose(batch);
            assertEquals(0, batch.draftCount(0));
            assertArrayEquals(greedyContinuation(small, 3), drafts(batch, 1));
            proposer.finished(1, tooLong, tooLong.length, tooLong.length);
            proposer.finished(2, small, small.length, small.length);
            assertEquals(proposer.totalBlocks(), proposer.freeBlocks());
        }
    }

    @Test
    void aDraftModelWithAnotherVocabularyIsRefused() {
        try (CausalLM target = ModelLoader.load(TestData.fixture("arch/qwen2"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DraftModelProposer.load(TestData.model("pycoder-draft-4m"), target, pool, 1 << 20));
            assertTrue(e.getMessage().contains("8192") && e.getMessage().contains("512"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
        try (CausalLM target = ModelLoader.load(TestData.model("pycoder-22m"));
             DraftModelProposer proposer = DraftModelProposer.load(TestData.model("pycoder-draft-4m"), target, pool, 4 << 20)) {
            assertNotEquals(0, proposer.totalBlocks());
            int[] prompt = context(12);
            assertArrayEquals(greedyContinuation(prompt, 2), proposeAlone(proposer, 1, prompt, 2, GREEDY));
        }
    }
}
