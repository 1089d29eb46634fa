package xllm.engine.spec;

import java.util.Arrays;
import xllm.api.SamplingParams;

/**
 * The sequences one step asks drafts for, and the drafts proposed: for each, its tokens so far (prompt then
 * output, the last one sampled but not yet in the KV cache), the most drafts it may take, and what the
 * proposer wrote. A proposer that samples its drafts from a distribution (a draft model at a temperature) also
 * writes that distribution, one row of {@code vocabSize} probabilities per draft token, so that verification
 * by rejection sampling keeps the target's distribution; a deterministic proposer leaves it out. Refilled every
 * step without allocating in steady state. Owned by the engine loop thread.
 */
public final class DraftBatch {
    private final int vocabSize;
    private int size;
    private long[] sequenceIds = new long[16];
    private int[][] tokens = new int[16][];
    private int[] lengths = new int[16];
    private int[] promptLengths = new int[16];
    private int[] maxDrafts = new int[16];
    private SamplingParams[] params = new SamplingParams[16];
    private int[][] drafts = new int[16][];
    private int[] draftCounts = new int[16];
    private float[][] draftProbabilities = new float[16][];
    private boolean[] sampled = new boolean[16];

    public DraftBatch(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public void clear() {
        size = 0;
    }

    /** Adds a sequence that may take up to {@code maxDrafts} drafts; returns its index. */
    public int add(long sequenceId, int[] tokens, int promptLength, int length, int maxDrafts, SamplingParams params) {
        if (size == sequenceIds.length) {
            grow();
        }
        int i = size++;
        sequenceIds[i] = sequenceId;
        this.tokens[i] = tokens;
        promptLengths[i] = promptLength;
        lengths[i] = length;
        this.maxDrafts[i] = maxDrafts;
        this.params[i] = params;
        if (drafts[i] == null || drafts[i].length < maxDrafts) {
            drafts[i] = new int[Math.max(maxDrafts, 8)];
        }
        draftCounts[i] = 0;
        sampled[i] = false;
        return i;
    }

    public int size() { return size; }
    public int vocabSize() { return vocabSize; }
    public long sequenceId(int i) { return sequenceIds[i]; }
    /** The sequence's tokens, the first {@link #length} valid. Read-only for proposers. */
    public int[] tokens(int i) { return tokens[i]; }
    public int length(int i) { return lengths[i]; }
    public int promptLength(int i) { return promptLengths[i]; }
    public int maxDrafts(int i) { return maxDrafts[i]; }
    /** How the target samples this sequence: a proposer that samples its drafts does it alike. */
    public SamplingParams params(int i) { return params[i]; }

    /** Sets the drafts of sequence {@code i}, deterministic ones: {@code draft[from .. from+count)}. */
    public void setDraft(int i, int[] draft, int from, int count) {
        if (count > maxDrafts[i]) {
            throw new IllegalArgumentException(count + " drafts for a sequence that takes at most " + maxDrafts[i]);
        }
        System.arraycopy(draft, from, drafts[i], 0, count);
        draftCounts[i] = count;
        sampled[i] = false;
    }

    /**
     * Appends one draft token to sequence {@code i}, sampled from {@code probabilities[offset .. offset+vocab)}
     * (copied); every draft of a sequence is either sampled or deterministic.
     */
    public void appendSampled(int i, int token, float[] probabilities, int offset) {
        int k = draftCounts[i];
        if (k >= maxDrafts[i]) {
            throw new IllegalArgumentException("sequence takes at most " + maxDrafts[i] + " drafts");
        }
        if (k > 0 && !sampled[i]) {
            throw new IllegalStateException("a sequence's drafts are all sampled or all deterministic");
        }
        int need = maxDrafts[i] * vocabSize;
        if (draftProbabilities[i] == null || draftProbabilities[i].length < need) {
            draftProbabilities[i] = new float[need];
        }
        System.arraycopy(probabilities, offset, draftProbabilities[i], k * vocabSize, vocabSize);
        drafts[i][k] = token;
        draftCounts[i] = k + 1;
        sampled[i] = true;
    }

    /** Appends one deterministic draft token to sequence {@code i}. */
    public void append(int i, int token) {
        int k = draftCounts[i];
        if (k >= maxDrafts[i]) {
            throw new IllegalArgumentException("sequence takes at most " + maxDrafts[i] + " drafts");
        }
        if (k > 0 && sampled[i]) {
            throw new IllegalStateException("a sequence's drafts are all sampled or all deterministic");
        }
        drafts[i][k] = token;
        draftCounts[i] = k + 1;
    }

    public int draftCount(int i) { return draftCounts[i]; }
    /** The drafts of sequence {@code i}, the first {@link #draftCount} valid. Read-only. */
    public int[] drafts(int i) { return drafts[i]; }
    /** Whether sequence {@code i}'s drafts were sampled, with {@link #draftProbabilities}. */
    public boolean sampled(int i) { return sampled[i]; }
    /** Draft {@code k}'s distribution starts at {@code k * vocabSize}; only when {@link #sampled}. Read-only. */
    public float[] draftProbabilities(int i) { return draftProbabilities[i]; }

    private void grow() {
        int n = sequenceIds.length * 2;
        sequenceIds = Arrays.copyOf(sequenceIds, n);
        tokens = Arrays.copyOf(tokens, n);
        lengths = Arrays.copyOf(lengths, n);
        promptLengths = Arrays.copyOf(promptLengths, n);
        maxDrafts = Arrays.copyOf(maxDrafts, n);
        params = Arrays.copyOf(params, n);
        drafts = Arrays.copyOf(drafts, n);
        draftCounts = Arrays.copyOf(draftCounts, n);
        draftProbabilities = Arrays.copyOf(draftProbabilities, n);
        sampled = Arrays.copyOf(sampled, n);
    }
}
