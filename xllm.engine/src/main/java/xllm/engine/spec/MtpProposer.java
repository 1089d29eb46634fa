package xllm.engine.spec;

import java.util.Arrays;
import org.agrona.collections.Long2ObjectHashMap;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.DecoderModel;
import xllm.engine.model.ForwardPass;
import xllm.engine.model.MtpHead;
import xllm.engine.model.StepBatch;
import xllm.engine.model.Workspace;
import xllm.engine.runner.StepOutput;
import xllm.engine.sample.Sampler;
import xllm.kv.BlockAllocator;
import xllm.kv.PageArena;

/**
 * Drafts with the target's own multi-token-prediction module (DeepSeek-V3; vLLM's {@code deepseek_mtp}). The module
 * reads the target's final hidden state {@code h_i} with the embedding of token {@code i+1} and predicts token
 * {@code i+2}; fed its own output and its draft, it chains further. Its decoder layer keeps its own paged cache, one
 * slot per position the target computed, prompt included, filled from the hidden states that {@link #observe}
 * copies out of every step: the target's runner must keep them ({@code ModelRunner.keepHiddenStates(true)}).
 *
 * <p>At a sequence's turn to draft, its tokens are {@code t_0 .. t_{L-1}}, the target has computed {@code h_0 ..
 * h_{L-2}} (over the drafts it was fed too: only the states fed the sequence's own tokens count), and the pair
 * {@code (t_{L-1}, h_{L-2})} gives draft 1 for position {@code L}; draft {@code k+1} comes from
 * {@code (draft k, the module's output)} one position on. Pending pairs of all sequences run as one batch, the
 * chained drafts as one batch a round. Only the first module is used, for every draft, as vLLM does with a checkpoint
 * that has one (DeepSeek-V3's). Drafts are the module's argmax at every temperature: deterministic drafts keep the
 * target's distribution under rejection sampling; only how many are accepted depends on the temperature.
 *
 * <p>A sequence whose earlier hidden states this proposer did not see (a prefix-cache hit, or a step it was not
 * shown) drafts from the part it saw: attention depends on relative positions only, so its cache's positions count
 * from there. Until it is first asked to draft, a sequence's observed states are held here, {@code hiddenSize} floats
 * a token. Owned by the engine loop thread.
 */
public final class MtpProposer implements Proposer {
    private final MtpHead head;
    private final int hiddenSize;
    private final int vocabSize;
    private final float eps;
    private final PageArena arena;
    private final BlockAllocator allocator;
    private final StepBatch.Builder step = new StepBatch.Builder();
    private final ForwardPass pass;
    private final Long2ObjectHashMap<MtpSequence> sequences = new Long2ObjectHashMap<>();
    /** The h_i of each pair in the step, then the module's outputs and logits for the pairs that sample. */
    private float[] previous = new float[0];
    private float[] outputs = new float[0];
    private float[] logits = new float[0];
    /** Per entry of the step: the draft batch row it serves. */
    private int[] rowOfEntry = new int[16];
    /** Per draft batch row: its state, the most drafts it may take this step, its last draft and the module's output. */
    private MtpSequence[] rowSequence = new MtpSequence[16];
    private int[] draftLimit = new int[16];
    private int[] lastDraft = new int[16];
    private float[] chainHidden = new float[0];

    /**
     * A proposer with {@code kvBlocks} blocks of {@code blockSize} slots for the module's cache (one layer: a block
     * takes {@code 1/numLayers} of a target block).
     *
     * @throws IllegalArgumentException when {@code target} has no multi-token-prediction module
     */
    public MtpProposer(DecoderModel target, ComputePool pool, int kvBlocks, int blockSize) {
        if (target.mtpHeads().isEmpty()) {
            throw noModule(target);
        }
        this.head = target.mtpHeads().get(0);
        this.hiddenSize = target.config().hiddenSize();
        this.vocabSize = target.config().vocabSize();
        this.eps = target.config().rmsNormEps();
        this.arena = new PageArena(kvBlocks, blockSize, 1, head.layer().attention().kvFloatsPerSlot());
        this.allocator = new BlockAllocator(kvBlocks, blockSize);
        this.pass = new ForwardPass(step.batch(), arena, new Workspace(pool.threads()), pool);
    }

    /**
     * The proposer for {@code target}'s multi-token-prediction module.
     *
     * @throws IllegalArgumentException when the model has none
     */
    public static MtpProposer forModel(CausalLM target, ComputePool pool, int kvBlocks, int blockSize) {
        if (!(target instanceof DecoderModel decoder) || decoder.mtpHeads().isEmpty()) {
            throw noModule(target);
        }
        return new MtpProposer(decoder, pool, kvBlocks, blockSize);
    }

    private static IllegalArgumentException noModule(CausalLM target) {
        return new IllegalArgumentException("this " + target.config().modelType() + " model has no multi-token-prediction"
                + " layers: the mtp method drafts with DeepSeek-V3's (num_nextn_predict_layers, weights model.layers."
                + target.config().numLayers() + ".eh_proj ...), which this checkpoint lacks; choose another speculative method");
    }

    @Override
    public void observe(StepBatch batch, StepOutput output) {
        if (output.hiddenSize() != hiddenSize) {
            throw new IllegalStateException("the mtp proposer drafts from the target's hidden states of " + hiddenSize
                    + " floats, and this step kept " + output.hiddenSize() + ": run the target with ModelRunner.keepHiddenStates(true)");
        }
        float[] hidden = output.hiddenStates();
        for (int e = 0; e < batch.numEntries(); e++) {
            long id = batch.sequenceId(e);
            MtpSequence s = sequences.get(id);
            if (s == null) {
                s = new MtpSequence(hiddenSize, arena.blockSize());
                sequences.put(id, s);
            }
            s.observe(batch, e, hidden);
        }
    }

    @Override
    public void propose(DraftBatch batch) {
        ensureRows(batch.size());
        step.clear();
        for (int i = 0; i < batch.size(); i++) {
            draftLimit[i] = 0;
            MtpSequence s = sequences.get(batch.sequenceId(i));
            rowSequence[i] = s;
            if (s != null) {
                addPendingPairs(batch, i, s);
            }
        }
        if (step.batch().numEntries() > 0) {
            run();
            StepBatch b = step.batch();
            for (int e = 0; e < b.numEntries(); e++) {
                int i = rowOfEntry[e];
                rowSequence[i].commit(rowSequence[i].committed() + b.tokenCount(e));
                if (b.sampleRow(e) >= 0) {
                    draft(batch, i, b.sampleRow(e));
                }
            }
            chain(batch);
        }
        for (int i = 0; i < batch.size(); i++) {
            if (draftLimit[i] > 0) {
                rowSequence[i].rememberDrafts(batch.length(i), batch.drafts(i), batch.draftCount(i));
            }
        }
    }

    /** Adds the pairs of row {@code i} that the target's states now allow, the last sampling when it may draft. */
    private void addPendingPairs(DraftBatch batch, int i, MtpSequence s) {
        int length = batch.length(i);
        int end = s.confirm(batch.tokens(i), length);
        int pairs = end - s.committed();
        boolean drafts = batch.maxDrafts(i) > 0 && end == length - 1;
        if (pairs == 0) {
            if (drafts) {
                s.repeatDrafts(batch, i, length); // asked again before the target ran: same context, same drafts
            }
            return;
        }
        // draft 1 comes from pair end-1; chained draft k+1 writes the slot of position end-1+k
        int covered = s.reserve(drafts ? end + batch.maxDrafts(i) - 2 : end - 1, allocator);
        if (covered < end - 1) {
            return; // no cache room for its pairs now: their states wait
        }
        draftLimit[i] = drafts ? Math.min(batch.maxDrafts(i), covered - end + 2) : 0;
        StepBatch b = step.batch();
        int row = b.numTokens();
        previous = grow(previous, (row + pairs) * hiddenSize);
        System.arraycopy(s.states(), 0, previous, row * hiddenSize, pairs * hiddenSize);
        int e = step.add(batch.sequenceId(i), batch.tokens(i), s.committed() + 1, pairs, s.committed() - s.base(),
                s.blocks(), s.blockCount(), draftLimit[i] > 0);
        rowOfEntry = grow(rowOfEntry, e + 1);
        rowOfEntry[e] = i;
    }

    /** Chains the drafts: a round feeds every row still short of its limit its last draft and the module's output. */
    private void chain(DraftBatch batch) {
        for (int round = 1; ; round++) {
            step.clear();
            for (int i = 0; i < batch.size(); i++) {
                if (draftLimit[i] <= round || batch.draftCount(i) != round) {
                    continue;
                }
                MtpSequence s = rowSequence[i];
                int position = batch.length(i) - 2 + round;
                int e = step.add(batch.sequenceId(i), lastDraft, i, 1, position - s.base(), s.blocks(), s.blockCount(), true);
                previous = grow(previous, (e + 1) * hiddenSize);
                System.arraycopy(chainHidden, i * hiddenSize, previous, e * hiddenSize, hiddenSize);
                rowOfEntry = grow(rowOfEntry, e + 1);
                rowOfEntry[e] = i;
            }
            StepBatch b = step.batch();
            if (b.numEntries() == 0) {
                return;
            }
            run();
            for (int e = 0; e < b.numEntries(); e++) {
                draft(batch, rowOfEntry[e], e);
            }
        }
    }

    /** Appends row {@code i}'s next draft, the argmax of the step's sampled row {@code row}, and keeps what chains on. */
    private void draft(DraftBatch batch, int i, int row) {
        int token = Sampler.argmax(logits, row * vocabSize, vocabSize);
        batch.append(i, token);
        lastDraft[i] = token;
        System.arraycopy(outputs, row * hiddenSize, chainHidden, i * hiddenSize, hiddenSize);
    }

    private void run() {
        int sampled = step.batch().numSampled();
        outputs = grow(outputs, sampled * hiddenSize);
        logits = grow(logits, sampled * vocabSize);
        head.forward(pass, eps, previous, outputs, logits);
    }

    @Override
    public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
        MtpSequence s = sequences.remove(sequenceId);
        if (s != null) {
            s.release(allocator);
        }
    }

    /** Sequences whose state is held: observed and not yet finished. */
    public int trackedSequences() {
        return sequences.size();
    }

    @Override
    public void close() {
        arena.close();
    }

    private void ensureRows(int n) {
        if (rowSequence.length < n) {
            int size = Math.max(n, rowSequence.length * 2);
            rowSequence = Arrays.copyOf(rowSequence, size);
            draftLimit = Arrays.copyOf(draftLimit, size);
            lastDraft = Arrays.copyOf(lastDraft, size);
        }
        chainHidden = grow(chainHidden, rowSequence.length * hiddenSize);
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : Arrays.copyOf(a, Math.max(n, a.length * 2));
    }

    private static int[] grow(int[] a, int n) {
        return a.length >= n ? a : Arrays.copyOf(a, Math.max(n, a.length * 2));
    }
}
