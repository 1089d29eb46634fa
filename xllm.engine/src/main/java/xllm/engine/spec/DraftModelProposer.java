package xllm.engine.spec;

import java.nio.file.Path;
import java.util.Arrays;
import org.agrona.collections.Long2ObjectHashMap;
import xllm.api.SamplingParams;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.model.StepBatch;
import xllm.engine.runner.ModelRunner;
import xllm.engine.runner.StepOutput;
import xllm.engine.sample.Sampler;
import xllm.engine.sample.SequenceSampling;
import xllm.kv.BlockAllocator;
import xllm.kv.KvDtype;

/**
 * Drafts with a small model that shares the target's tokenizer, run batched like the target: each forward pass
 * feeds every sequence of the {@link DraftBatch} at once, first what its KV cache lacks of its context (the
 * whole prompt the first time, chunked to a token budget), then one draft after another. The draft model has
 * its own paged KV cache and keeps each sequence's KV between steps, rolling back over drafts the target
 * rejected. A greedy sequence gets the draft model's argmax tokens; one sampled at a temperature gets tokens
 * sampled from the draft model's distribution under the same parameters, and that distribution with them.
 * Owned by the engine loop thread.
 */
public final class DraftModelProposer implements Proposer {
    /** Block size of {@link #load}'s cache, as the target's engine uses by default. */
    private static final int BLOCK_SIZE = 16;
    /**
     * {@link #load}'s confidence floor: a sequence's drafting stops after a draft the draft model gave less than
     * this probability, as such a draft is seldom accepted and every draft after it still less often.
     */
    private static final float STOP_BELOW = 0.3f;
    /** Tokens one forward pass feeds at most, over all sequences: bounds the activations a catch-up needs. */
    private static final int MAX_PASS_TOKENS = 2048;

    private final CausalLM model;
    private final boolean ownsModel;
    private final ModelRunner runner;
    private final BlockAllocator allocator;
    private final Sampler sampler;
    private final int vocabSize;
    private final int blockSize;
    private final int maxPositions;
    private final float[] probabilities;
    private final float stopBelow;
    private final Long2ObjectHashMap<DraftSequence> sequences = new Long2ObjectHashMap<>();
    private final StepBatch.Builder pass = new StepBatch.Builder();
    /** This step's sequences that still take drafts, in batch order, and the entries of the pass being run. */
    private DraftSequence[] drafting = new DraftSequence[16];
    private DraftSequence[] entries = new DraftSequence[16];
    /** The draft model's probability of the draft {@link #draft} chose last. */
    private float confidence;

    /** Drafts with {@code draft} (which the caller keeps and closes) in a float KV cache of {@code kvBlocks} blocks. */
    public DraftModelProposer(CausalLM draft, ComputePool pool, int kvBlocks, int blockSize) {
        this(draft, pool, kvBlocks, blockSize, false, 0f);
    }

    /** @param stopBelow a sequence drafts no further after a draft of lower probability under the draft model */
    private DraftModelProposer(CausalLM draft, ComputePool pool, int kvBlocks, int blockSize, boolean ownsModel, float stopBelow) {
        this.model = draft;
        this.stopBelow = stopBelow;
        this.ownsModel = ownsModel;
        this.runner = new ModelRunner(draft, pool, kvBlocks, blockSize);
        this.allocator = new BlockAllocator(kvBlocks, blockSize);
        this.vocabSize = draft.config().vocabSize();
        this.sampler = new Sampler(vocabSize);
        this.blockSize = blockSize;
        this.maxPositions = draft.config().maxPositions();
        this.probabilities = new float[vocabSize];
    }

    /**
     * Loads the draft model in {@code dir} with a KV cache of about {@code kvBytes}; the proposer owns it.
     *
     * @throws IllegalArgumentException when its vocabulary is not the target's
     */
    public static DraftModelProposer load(Path dir, CausalLM target, ComputePool pool, long kvBytes) {
        CausalLM draft = ModelLoader.load(dir);
        try {
            int draftVocab = draft.config().vocabSize();
            int targetVocab = target.config().vocabSize();
            if (draftVocab != targetVocab) {
                throw new IllegalArgumentException("draft model " + dir + " has a vocabulary of " + draftVocab
                        + " tokens but the target has " + targetVocab + ": a draft model must share the target's tokenizer");
            }
            int blocks = ModelRunner.blocksForBudget(draft, kvBytes, BLOCK_SIZE, KvDtype.F32);
            return new DraftModelProposer(draft, pool, blocks, BLOCK_SIZE, true, STOP_BELOW);
        } catch (RuntimeException e) {
            draft.close();
            throw e;
        }
    }

    @Override
    public void propose(DraftBatch batch) {
        if (batch.vocabSize() != vocabSize) {
            throw new IllegalArgumentException("a draft batch over " + batch.vocabSize() + " tokens for a draft model of "
                    + vocabSize);
        }
        int n = 0;
        for (int i = 0; i < batch.size(); i++) {
            DraftSequence s = begin(batch, i);
            if (s != null) {
                if (n == drafting.length) {
                    drafting = Arrays.copyOf(drafting, n * 2);
                    entries = Arrays.copyOf(entries, n * 2);
                }
                drafting[n++] = s;
            }
        }
        while (n > 0) {
            runPass(batch, n);
            n = dropDone(n);
        }
    }

    /** Readies sequence {@code i} of {@code batch} for drafting; null when it gets no drafts this step. */
    private DraftSequence begin(DraftBatch batch, int i) {
        int length = batch.length(i);
        // the last draft is sampled, not fed: feeding stops at position length + wanted - 2
        int wanted = Math.min(batch.maxDrafts(i), maxPositions - length + 1);
        if (wanted <= 0 || length <= 0) {
            return null;
        }
        long id = batch.sequenceId(i);
        DraftSequence s = sequences.get(id);
        if (s == null) {
            s = new DraftSequence(id);
            sequences.put(id, s);
        }
        s.begin(i, batch.tokens(i), length, wanted);
        int kept = length + wanted - 1;
        // blocks past what this step needs held rejected drafts
        s.table.truncate((kept + blockSize - 1) / blockSize, allocator);
        if (!s.table.ensureCapacity(kept, blockSize, allocator)) {
            // no room: this sequence goes without drafts rather than hold blocks it cannot use
            s.table.releaseAll(allocator);
            s.computed = 0;
            return null;
        }
        return s;
    }

    /** One forward pass: each sequence feeds what it has not computed, within the token budget, and drafts once it is all in. */
    private void runPass(DraftBatch batch, int n) {
        pass.clear();
        int budget = MAX_PASS_TOKENS;
        int count = 0;
        for (int j = 0; j < n && budget > 0; j++) {
            DraftSequence s = drafting[j];
            int feed = Math.min(s.end - s.computed, budget);
            pass.add(s.id, s.tokens, s.computed, feed, s.computed, s.table.blockIds(), s.table.size(),
                    s.computed + feed == s.end);
            entries[count++] = s;
            budget -= feed;
        }
        StepBatch step = pass.batch();
        StepOutput output = runner.execute(step);
        for (int e = 0; e < count; e++) {
            DraftSequence s = entries[e];
            s.computed += step.tokenCount(e);
            int offset = output.logitsOffset(e);
            if (offset >= 0) {
                s.extend(draft(batch, s, output.logits(), offset));
                if (confidence < stopBelow) {
                    s.wanted = s.drafts;
                }
            }
        }
    }

    /** The next draft of {@code s} from its logits row, recorded in {@code batch}. */
    private int draft(DraftBatch batch, DraftSequence s, float[] logits, int offset) {
        SamplingParams params = batch.params(s.index);
        if (params.isGreedy()) {
            int token = Sampler.argmax(logits, offset, vocabSize);
            confidence = stopBelow > 0 ? topProbability(logits, offset, logits[offset + token]) : 1f;
            batch.append(s.index, token);
            return token;
        }
        sampler.distribution(logits, offset, params, probabilities);
        SequenceSampling sampling = s.sampling(params);
        sampling.drawFor(s.end - batch.promptLength(s.index)); // the output position this draft would take
        int token = sampler.draw(probabilities, 0, sampling);
        batch.appendSampled(s.index, token, probabilities, 0);
        confidence = probabilities[token];
        return token;
    }

    /** The softmax probability of the largest logit, {@code max}, of the row at {@code offset}. */
    private float topProbability(float[] logits, int offset, float max) {
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return (float) (1 / sum);
    }

    /** Keeps, in order, the sequences that take more drafts; returns how many. */
    private int dropDone(int n) {
        int kept = 0;
        for (int j = 0; j < n; j++) {
            if (!drafting[j].done()) {
                drafting[kept++] = drafting[j];
            }
        }
        Arrays.fill(drafting, kept, n, null);
        return kept;
    }

    /** Drafts at a temperature are sampled from the draft model's distribution. */
    @Override
    public boolean samplesDrafts(SamplingParams params) {
        return !params.isGreedy();
    }

    @Override
    public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
        DraftSequence s = sequences.remove(sequenceId);
        if (s != null) {
            s.table.releaseAll(allocator);
        }
    }

    /** KV blocks not held by any sequence. */
    public int freeBlocks() {
        return allocator.freeBlocks();
    }

    public int totalBlocks() {
        return allocator.totalBlocks();
    }

    @Override
    public void close() {
        runner.close();
        if (ownsModel) {
            model.close();
        }
    }
}
