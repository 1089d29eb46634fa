package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.api.SamplingParams;
import xllm.engine.MtpFixture;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.model.CausalLM;
import xllm.engine.model.DecoderLayer;
import xllm.engine.model.DecoderModel;
import xllm.engine.model.ForwardPass;
import xllm.engine.model.ModelLoader;
import xllm.engine.model.MtpHead;
import xllm.engine.model.StepBatch;
import xllm.engine.model.Workspace;
import xllm.engine.runner.ModelRunner;
import xllm.engine.runner.StepOutput;
import xllm.engine.sample.Sampler;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.Tensor;
import xllm.kv.PageArena;

/**
 * The mtp method on the DeepSeek-V3 fixture given a prediction module of random weights: what it drafts must be what
 * the module's formula gives when run from scratch over the sequence's verified context, whatever was batched,
 * computed incrementally or rejected before. Acceptance is not the point here.
 */
class MtpProposerTest {
    private static final int BLOCK = 4;
    /** Target blocks per sequence: sequence {@code s} owns blocks {@code [s*SPAN, (s+1)*SPAN)}. */
    private static final int SPAN = 16;
    private static final int K = 3;
    private static final SamplingParams GREEDY = SamplingParams.builder().temperature(0).build();

    @TempDir
    static Path dir;
    private static DecoderModel model;
    private static MtpHead mtp;
    private static float[] finalNorm;
    private static float[] lmHead;
    private static ComputePool pool;
    private static int hidden;
    private static int vocab;
    private static float eps;

    @BeforeAll
    static void load() {
        MtpFixture.withRandomModule(dir);
        try (SafetensorsDirectory weights = SafetensorsDirectory.open(TestData.fixture("arch/deepseek_v3"))) {
            finalNorm = floats(weights.get("model.norm.weight"));
            lmHead = floats(weights.get("lm_head.weight"));
        }
        model = assertInstanceOf(DecoderModel.class, ModelLoader.load(dir));
        mtp = model.mtpHeads().get(0);
        hidden = model.config().hiddenSize();
        vocab = model.config().vocabSize();
        eps = model.config().rmsNormEps();
        pool = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    @Test
    void theRunnerKeepsEveryTokensHiddenStateOnlyWhenAsked() {
        int[] a = ids(1, 9);
        int[] b = ids(2, 6);
        float[] plain;
        try (ModelRunner runner = new ModelRunner(model, pool, 2 * SPAN, BLOCK)) {
            StepOutput output = runner.execute(prefill(new StepBatch.Builder(), a, b));
            assertEquals(0, output.hiddenSize());
            assertThrows(IllegalStateException.class, output::hiddenStates);
            plain = Arrays.copyOf(output.logits(), 2 * vocab);
        }
        try (ModelRunner runner = new ModelRunner(model, pool, 2 * SPAN, BLOCK)) {
            runner.keepHiddenStates(true);
            StepOutput output = runner.execute(prefill(new StepBatch.Builder(), a, b));
            assertArrayEquals(plain, Arrays.copyOf(output.logits(), 2 * vocab), "keeping the states changes no logit");
            assertEquals(hidden, output.hiddenSize());
            float[] states = output.hiddenStates();
            for (int e = 0; e < 2; e++) {
                // each entry's last state, through the final norm and the LM head, is that entry's logits row
                int last = output.batch().firstToken(e) + output.batch().tokenCount(e) - 1;
                float[] logits = lmHeadOf(states, last * hidden);
                for (int v = 0; v < vocab; v++) {
                    float expected = output.logits()[output.logitsOffset(e) + v];
                    assertEquals(expected, logits[v], 1e-4f * Math.max(1f, Math.abs(expected)), "entry " + e + " logit " + v);
                }
            }
            float[] alone = hiddenStatesFromScratch(a, a.length);
            assertArrayEquals(alone, Arrays.copyOf(states, a.length * hidden), "the first entry's states, in token order");
        }
    }

    @Test
    void draftsOfBatchedAndChunkedPrefillsEqualTheModuleRunFromScratch() {
        int[][] tokens = {grown(ids(3, 11)), grown(ids(4, 7))};
        int[] lengths = {11, 7};
        try (ModelRunner runner = hiddenKeepingRunner(2);
             MtpProposer proposer = MtpProposer.forModel(model, pool, 32, BLOCK)) {
            StepBatch.Builder step = new StepBatch.Builder();
            // sequence 0 whole, sequence 1 in two chunks of two steps
            step.clear();
            add(step, 0, tokens[0], 0, 11, true);
            add(step, 1, tokens[1], 0, 4, false);
            StepOutput first = runner.execute(step.batch());
            proposer.observe(step.batch(), first);
            tokens[0][lengths[0]++] = Sampler.argmax(first.logits(), first.logitsOffset(0), vocab);
            step.clear();
            add(step, 1, tokens[1], 4, 3, true);
            StepOutput second = runner.execute(step.batch());
            proposer.observe(step.batch(), second);
            tokens[1][lengths[1]++] = Sampler.argmax(second.logits(), second.logitsOffset(0), vocab);

            DraftBatch drafts = ask(proposer, tokens, lengths, K);
            for (int s = 0; s < 2; s++) {
                assertEquals(K, drafts.draftCount(s));
                assertArrayEquals(referenceDrafts(tokens[s], lengths[s], K), Arrays.copyOf(drafts.drafts(s), K), "sequence " + s);
            }
            DraftBatch again = ask(proposer, tokens, lengths, K);
            assertArrayEquals(Arrays.copyOf(drafts.drafts(1), K), Arrays.copyOf(again.drafts(1), K), "asked twice, the same drafts");
        }
    }

    @Test
    void afterRejectedDraftsTheNextDraftsStillEqualTheModuleRunFromScratch() {
        int[][] tokens = {grown(ids(5, 9)), grown(ids(6, 5))};
        int[] lengths = {9, 5};
        // drafts each verification accepts, per sequence and round: none, some, all
        int[][] accepted = {{1, 0, 3, 2, 0}, {0, 3, 2, 0, 1}};
        try (ModelRunner runner = hiddenKeepingRunner(2);
             MtpProposer proposer = MtpProposer.forModel(model, pool, 32, BLOCK)) {
            StepBatch.Builder step = new StepBatch.Builder();
            step.clear();
            add(step, 0, tokens[0], 0, lengths[0], true);
            add(step, 1, tokens[1], 0, lengths[1], true);
            StepOutput output = runner.execute(step.batch());
            proposer.observe(step.batch(), output);
            for (int s = 0; s < 2; s++) {
                tokens[s][lengths[s]++] = Sampler.argmax(output.logits(), output.logitsOffset(s), vocab);
            }
            for (int round = 0; round < accepted[0].length; round++) {
                DraftBatch drafts = ask(proposer, tokens, lengths, K);
                step.clear();
                for (int s = 0; s < 2; s++) {
                    int[] draft = Arrays.copyOf(drafts.drafts(s), drafts.draftCount(s));
                    assertArrayEquals(referenceDrafts(tokens[s], lengths[s], K), draft, "round " + round + ", sequence " + s);
                    // the target verifies the last token and the drafts in one step
                    int[] fed = Arrays.copyOf(tokens[s], tokens[s].length);
                    System.arraycopy(draft, 0, fed, lengths[s], K);
                    add(step, s, fed, lengths[s] - 1, K + 1, true);
                }
                output = runner.execute(step.batch());
                proposer.observe(step.batch(), output);
                for (int s = 0; s < 2; s++) {
                    int a = accepted[s][round];
                    int[] draft = drafts.drafts(s);
                    System.arraycopy(draft, 0, tokens[s], lengths[s], a);
                    lengths[s] += a;
                    // the correction differs from the rejected draft; after all K, any bonus token does
                    tokens[s][lengths[s]++] = a < K ? (draft[a] + 1 + round) % vocab : (draft[K - 1] + 5) % vocab;
                }
            }
        }
    }

    @Test
    void aSequenceSeenFromMidwayDraftsFromWhatWasSeen() {
        int[][] tokens = {grown(ids(7, 10))};
        int[] lengths = {10};
        try (ModelRunner runner = hiddenKeepingRunner(1);
             MtpProposer proposer = MtpProposer.forModel(model, pool, 32, BLOCK)) {
            StepBatch.Builder step = new StepBatch.Builder();
            add(step.clear(), 0, tokens[0], 0, 6, false);
            runner.execute(step.batch()); // a cached prefix, say: not shown to the proposer
            add(step.clear(), 0, tokens[0], 6, 4, true);
            StepOutput output = runner.execute(step.batch());
            proposer.observe(step.batch(), output);
            tokens[0][lengths[0]++] = Sampler.argmax(output.logits(), output.logitsOffset(0), vocab);

            DraftBatch drafts = ask(proposer, tokens, lengths, K);
            float[] states = hiddenStatesFromScratch(tokens[0], lengths[0] - 1);
            int[] seen = Arrays.copyOfRange(tokens[0], 6, lengths[0]);
            int[] expected = referenceDrafts(seen, Arrays.copyOfRange(states, 6 * hidden, states.length), seen.length, K);
            assertArrayEquals(expected, Arrays.copyOf(drafts.drafts(0), drafts.draftCount(0)));
            proposer.finished(0, tokens[0], 10, lengths[0]);
            assertEquals(0, proposer.trackedSequences());
        }
    }

    @Test
    void aModelWithoutPredictionLayersIsRefused() {
        try (CausalLM plain = ModelLoader.load(TestData.fixture("arch/deepseek_v3"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MtpProposer.forModel(plain, pool, 8, BLOCK));
            assertTrue(e.getMessage().contains("has no multi-token-prediction layers"), e.getMessage());
        }
        try (CausalLM dense = ModelLoader.load(TestData.fixture("arch/qwen2"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MtpProposer.forModel(dense, pool, 8, BLOCK));
            assertTrue(e.getMessage().contains("qwen2 model has no multi-token-prediction layers"), e.getMessage());
        }
    }

    // ---- the reference: the module's formula, one sequence, a fresh cache every time ----

    /** Drafts for {@code tokens[0 .. length)}, the target's states recomputed from scratch. */
    private static int[] referenceDrafts(int[] tokens, int length, int k) {
        return referenceDrafts(tokens, hiddenStatesFromScratch(tokens, length - 1), length, k);
    }

    /**
     * Greedy drafts from the pairs {@code (tokens[i+1], states[i])}, {@code i < length-1}, at positions {@code i}: each
     * draft reruns every pair from scratch, then becomes a pair itself with the module's output at the last position.
     */
    private static int[] referenceDrafts(int[] tokens, float[] states, int length, int k) {
        int pairs = length - 1;
        int[] next = Arrays.copyOf(Arrays.copyOfRange(tokens, 1, length), pairs + k);
        float[] previous = Arrays.copyOf(states, (pairs + k) * hidden);
        int[] drafts = new int[k];
        for (int d = 0; d < k; d++) {
            float[] out = new float[hidden];
            float[] logits = moduleFromScratch(next, previous, pairs + d, out);
            drafts[d] = Sampler.argmax(logits, 0, vocab);
            next[pairs + d] = drafts[d];
            System.arraycopy(out, 0, previous, (pairs + d) * hidden, hidden);
        }
        return drafts;
    }

    /**
     * {@code x_i = eh_proj([enorm(embed(next[i])) (zero at position 0); hnorm(previous[i])])}, one decoder layer
     * over all {@code n} positions in a fresh cache, then the shared head on the last: its logits; its layer output
     * goes to {@code lastOut}.
     */
    private static float[] moduleFromScratch(int[] next, float[] previous, int n, float[] lastOut) {
        float[] x = new float[n * hidden];
        float[] joined = new float[2 * hidden];
        for (int i = 0; i < n; i++) {
            Arrays.fill(joined, 0f);
            if (i > 0) {
                mtp.embedding().copyRow(next[i], joined, 0);
                VectorKernels.rmsNorm(joined, 0, mtp.embeddingNorm(), eps, joined, 0, hidden);
            }
            VectorKernels.rmsNorm(previous, i * hidden, mtp.hiddenNorm(), eps, joined, hidden, hidden);
            mtp.combine().multiply(joined, 1, x, i * hidden, hidden, 0, hidden);
        }
        StepBatch.Builder step = new StepBatch.Builder();
        int[] blocks = new int[(n + BLOCK - 1) / BLOCK];
        Arrays.setAll(blocks, b -> b);
        step.add(0, next, 0, n, 0, blocks, blocks.length, true);
        DecoderLayer layer = mtp.layer();
        float[] normed = new float[n * hidden];
        float[] out = new float[n * hidden];
        try (PageArena cache = new PageArena(blocks.length, BLOCK, 1, layer.attention().kvFloatsPerSlot())) {
            ForwardPass pass = new ForwardPass(step.batch(), cache, new Workspace(pool.threads()), pool);
            normRows(x, layer.attentionNorm(), normed, n);
            layer.attention().forward(pass, 0, normed, out);
            VectorKernels.add(x, 0, out, 0, n * hidden);
            normRows(x, layer.feedForwardNorm(), normed, n);
            layer.feedForward().forward(pass, normed, out);
            VectorKernels.add(x, 0, out, 0, n * hidden);
        }
        System.arraycopy(x, (n - 1) * hidden, lastOut, 0, hidden);
        float[] headIn = new float[hidden];
        VectorKernels.rmsNorm(lastOut, 0, mtp.headNorm(), eps, headIn, 0, hidden);
        float[] logits = new float[vocab];
        mtp.head().multiply(headIn, 1, logits, 0, vocab, 0, vocab);
        return logits;
    }

    private static void normRows(float[] x, float[] weight, float[] out, int n) {
        for (int t = 0; t < n; t++) {
            VectorKernels.rmsNorm(x, t * hidden, weight, eps, out, t * hidden, hidden);
        }
    }

    /** The target's final hidden states of {@code tokens[0 .. n)}, from one prefill in a fresh cache. */
    private static float[] hiddenStatesFromScratch(int[] tokens, int n) {
        try (ModelRunner runner = hiddenKeepingRunner(1)) {
            StepBatch.Builder step = new StepBatch.Builder();
            add(step, 0, tokens, 0, n, true);
            return Arrays.copyOf(runner.execute(step.batch()).hiddenStates(), n * hidden);
        }
    }

    private static float[] lmHeadOf(float[] states, int offset) {
        float[] normed = new float[hidden];
        VectorKernels.rmsNorm(states, offset, finalNorm, eps, normed, 0, hidden);
        float[] logits = new float[vocab];
        for (int v = 0; v < vocab; v++) {
            logits[v] = VectorKernels.dot(lmHead, v * hidden, normed, 0, hidden);
        }
        return logits;
    }

    // ---- driving the target and the proposer ----

    private static ModelRunner hiddenKeepingRunner(int sequences) {
        ModelRunner runner = new ModelRunner(model, pool, sequences * SPAN, BLOCK);
        runner.keepHiddenStates(true);
        return runner;
    }

    /** Adds {@code count} tokens of sequence {@code s} from position {@code from}, its KV in its own blocks. */
    private static void add(StepBatch.Builder step, int s, int[] tokens, int from, int count, boolean sample) {
        int[] blocks = new int[(from + count + BLOCK - 1) / BLOCK];
        Arrays.setAll(blocks, b -> s * SPAN + b);
        step.add(s, tokens, from, count, from, blocks, blocks.length, sample);
    }

    private static StepBatch prefill(StepBatch.Builder step, int[] a, int[] b) {
        add(step, 0, a, 0, a.length, true);
        add(step, 1, b, 0, b.length, true);
        return step.batch();
    }

    private static DraftBatch ask(Proposer proposer, int[][] tokens, int[] lengths, int k) {
        DraftBatch batch = new DraftBatch(vocab);
        for (int s = 0; s < tokens.length; s++) {
            batch.add(s, tokens[s], lengths[s] - 1, lengths[s], k, GREEDY);
        }
        proposer.propose(batch);
        return batch;
    }

    private static int[] ids(long seed, int n) {
        return new Random(seed).ints(n, 3, vocab).toArray();
    }

    /** Room for the tokens to come. */
    private static int[] grown(int[] prompt) {
        return Arrays.copyOf(prompt, SPAN * BLOCK);
    }

    private static float[] floats(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }
}
