package xllm.engine.model;

import java.util.Arrays;

/**
 * One step as the scheduler decided it, and the only thing the runner executes: for each scheduled
 * sequence (an <em>entry</em>) the run of consecutive tokens it contributes (a prefill chunk, one decode
 * token, or a decode token followed by draft tokens to verify) at their positions, a copy of the ids of the KV
 * blocks that hold its context, and how many of its last tokens produce logits (none for a prefill chunk that
 * does not end its prompt, one for a plain decode, one per token when drafts are verified). Plain values, no
 * live scheduler state.
 *
 * <p>Only a {@link Builder} writes it; the model and the runner read it. The builder refills the same
 * buffers every step so that steady state allocates nothing: a batch stays as built until its builder's
 * next {@link Builder#clear()}. Owned by the engine loop thread.
 */
public final class StepBatch {
    private int numTokens;
    private int[] tokens = new int[64];
    private int[] positions = new int[64];
    private int[] tokenEntry = new int[64];

    private int numEntries;
    private long[] sequenceIds = new long[16];
    private int[] firstToken = new int[16];
    private int[] tokenCount = new int[16];
    private int[] sampleRow = new int[16];
    private int[] sampledCount = new int[16];
    private int[][] blockIds = new int[16][];
    private int[] blockCount = new int[16];
    private int numSampled;
    private int[] sampledTokenIndex = new int[16];

    private StepBatch() {
    }

    public int numTokens() { return numTokens; }
    public int token(int i) { return tokens[i]; }
    public int position(int i) { return positions[i]; }
    /** The entry that batch token {@code tokenIndex} belongs to. */
    public int entryOf(int tokenIndex) { return tokenEntry[tokenIndex]; }
    public int numEntries() { return numEntries; }
    /** The scheduler's id of the sequence behind {@code entry}. */
    public long sequenceId(int entry) { return sequenceIds[entry]; }
    public int firstToken(int entry) { return firstToken[entry]; }
    public int tokenCount(int entry) { return tokenCount[entry]; }
    /**
     * The KV block ids of {@code entry}'s context in logical order, the first {@link #blockCount} of them valid:
     * position {@code p} lives in block {@code blocks(entry)[p / blockSize]}. Read-only for callers.
     */
    public int[] blocks(int entry) { return blockIds[entry]; }
    public int blockCount(int entry) { return blockCount[entry]; }
    /**
     * Row of {@code entry}'s first logits in the logits, or -1 when it samples nothing this step; its further
     * rows, one per later token, follow it.
     */
    public int sampleRow(int entry) { return sampleRow[entry]; }
    /** How many of {@code entry}'s last tokens produce logits rows. */
    public int sampledCount(int entry) { return sampledCount[entry]; }
    public int numSampled() { return numSampled; }
    /** Batch token index whose hidden state produces logits row {@code row}. */
    public int sampledTokenIndex(int row) { return sampledTokenIndex[row]; }

    public int maxPosition() {
        int max = 0;
        for (int i = 0; i < numTokens; i++) {
            max = Math.max(max, positions[i]);
        }
        return max;
    }

    /** Writes the one batch it owns; the scheduler's side of the value. Owned by the engine loop thread. */
    public static final class Builder {
        private final StepBatch batch = new StepBatch();

        /** Empties the batch for the next step. */
        public Builder clear() {
            batch.numTokens = 0;
            batch.numEntries = 0;
            batch.numSampled = 0;
            return this;
        }

        /**
         * Adds an entry: {@code count} tokens of sequence {@code sequenceId}, {@code ids[from..from+count)}, at
         * positions {@code startPosition...}, whose context lives in the first {@code numBlocks} of
         * {@code blocks} (copied). When {@code sample} is set, logits are produced for the last of these tokens.
         * Returns the entry's index.
         */
        public int add(long sequenceId, int[] ids, int from, int count, int startPosition, int[] blocks, int numBlocks,
                       boolean sample) {
            return add(sequenceId, ids, from, count, startPosition, blocks, numBlocks, sample ? 1 : 0);
        }

        /**
         * As {@link #add(long, int[], int, int, int, int[], int, boolean)}, producing logits for the last
         * {@code sampled} of the tokens (0 to {@code count}): a decode token and the drafts after it, each row
         * scoring the token that follows.
         */
        public int add(long sequenceId, int[] ids, int from, int count, int startPosition, int[] blocks, int numBlocks,
                       int sampled) {
            StepBatch b = batch;
            if (count < 1) {
                throw new IllegalArgumentException("a sequence contributes at least one token, got " + count);
            }
            if (sampled < 0 || sampled > count) {
                throw new IllegalArgumentException(sampled + " sampled tokens of an entry of " + count);
            }
            ensureTokens(b.numTokens + count);
            ensureEntries(b.numEntries + 1);
            ensureSampled(b.numSampled + sampled);
            int entry = b.numEntries++;
            b.sequenceIds[entry] = sequenceId;
            b.firstToken[entry] = b.numTokens;
            b.tokenCount[entry] = count;
            if (b.blockIds[entry] == null || b.blockIds[entry].length < numBlocks) {
                b.blockIds[entry] = new int[Math.max(numBlocks, 8) * 2];
            }
            System.arraycopy(blocks, 0, b.blockIds[entry], 0, numBlocks);
            b.blockCount[entry] = numBlocks;
            for (int i = 0; i < count; i++) {
                b.tokens[b.numTokens] = ids[from + i];
                b.positions[b.numTokens] = startPosition + i;
                b.tokenEntry[b.numTokens] = entry;
                b.numTokens++;
            }
            b.sampledCount[entry] = sampled;
            b.sampleRow[entry] = sampled > 0 ? b.numSampled : -1;
            for (int i = b.numTokens - sampled; i < b.numTokens; i++) {
                b.sampledTokenIndex[b.numSampled++] = i;
            }
            return entry;
        }

        /** The batch as built so far; unchanged until the next {@link #clear()}. */
        public StepBatch batch() {
            return batch;
        }

        private void ensureTokens(int n) {
            StepBatch b = batch;
            if (n > b.tokens.length) {
                int size = Math.max(n, b.tokens.length * 2);
                b.tokens = Arrays.copyOf(b.tokens, size);
                b.positions = Arrays.copyOf(b.positions, size);
                b.tokenEntry = Arrays.copyOf(b.tokenEntry, size);
            }
        }

        private void ensureEntries(int n) {
            StepBatch b = batch;
            if (n > b.sequenceIds.length) {
                int size = Math.max(n, b.sequenceIds.length * 2);
                b.sequenceIds = Arrays.copyOf(b.sequenceIds, size);
                b.firstToken = Arrays.copyOf(b.firstToken, size);
                b.tokenCount = Arrays.copyOf(b.tokenCount, size);
                b.sampleRow = Arrays.copyOf(b.sampleRow, size);
                b.sampledCount = Arrays.copyOf(b.sampledCount, size);
                b.blockIds = Arrays.copyOf(b.blockIds, size);
                b.blockCount = Arrays.copyOf(b.blockCount, size);
            }
        }

        private void ensureSampled(int n) {
            StepBatch b = batch;
            if (n > b.sampledTokenIndex.length) {
                b.sampledTokenIndex = Arrays.copyOf(b.sampledTokenIndex, Math.max(n, b.sampledTokenIndex.length * 2));
            }
        }
    }
}
