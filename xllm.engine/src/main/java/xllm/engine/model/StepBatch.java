package xllm.engine.model;

import java.util.Arrays;
import xllm.kv.BlockTable;

/**
 * The input of one forward pass: any number of sequences, each contributing a run of consecutive tokens
 * (a prefill chunk or one decode token) at known positions, with the block table that holds its KV.
 * Plain data filled by the scheduler and read by the model; reused from step to step so steady state
 * allocates nothing. Owned by the engine loop thread.
 */
public final class StepBatch {
    private int numTokens;
    private int[] tokens = new int[64];
    private int[] positions = new int[64];
    private int[] tokenSequence = new int[64];

    private int numSequences;
    private BlockTable[] tables = new BlockTable[16];
    private int[] firstToken = new int[16];
    private int[] tokenCount = new int[16];
    private int[] sampleRow = new int[16];
    private int numSampled;
    private int[] sampledTokenIndex = new int[16];

    public void clear() {
        numTokens = 0;
        numSequences = 0;
        numSampled = 0;
        Arrays.fill(tables, null);
    }

    /**
     * Adds {@code count} tokens of one sequence, {@code ids[from..from+count)}, at positions
     * {@code startPosition...}; the table must already hold blocks for them. When {@code sample} is set,
     * logits are produced for the last of these tokens. Returns the sequence's index in this batch.
     */
    public int add(BlockTable table, int[] ids, int from, int count, int startPosition, boolean sample) {
        if (count < 1) {
            throw new IllegalArgumentException("a sequence contributes at least one token, got " + count);
        }
        ensureTokens(numTokens + count);
        ensureSequences(numSequences + 1);
        int seq = numSequences++;
        tables[seq] = table;
        firstToken[seq] = numTokens;
        tokenCount[seq] = count;
        for (int i = 0; i < count; i++) {
            tokens[numTokens] = ids[from + i];
            positions[numTokens] = startPosition + i;
            tokenSequence[numTokens] = seq;
            numTokens++;
        }
        if (sample) {
            sampleRow[seq] = numSampled;
            sampledTokenIndex[numSampled++] = numTokens - 1;
        } else {
            sampleRow[seq] = -1;
        }
        return seq;
    }

    private void ensureTokens(int n) {
        if (n > tokens.length) {
            int size = Math.max(n, tokens.length * 2);
            tokens = Arrays.copyOf(tokens, size);
            positions = Arrays.copyOf(positions, size);
            tokenSequence = Arrays.copyOf(tokenSequence, size);
        }
    }

    private void ensureSequences(int n) {
        if (n > tables.length) {
            int size = Math.max(n, tables.length * 2);
            tables = Arrays.copyOf(tables, size);
            firstToken = Arrays.copyOf(firstToken, size);
            tokenCount = Arrays.copyOf(tokenCount, size);
            sampleRow = Arrays.copyOf(sampleRow, size);
            sampledTokenIndex = Arrays.copyOf(sampledTokenIndex, size);
        }
    }

    public int numTokens() { return numTokens; }
    public int token(int i) { return tokens[i]; }
    public int position(int i) { return positions[i]; }
    public int sequenceOf(int tokenIndex) { return tokenSequence[tokenIndex]; }
    public int numSequences() { return numSequences; }
    public BlockTable table(int seq) { return tables[seq]; }
    public int firstToken(int seq) { return firstToken[seq]; }
    public int tokenCount(int seq) { return tokenCount[seq]; }
    /** Row of this sequence in the logits, or -1 when it samples nothing this step. */
    public int sampleRow(int seq) { return sampleRow[seq]; }
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
}
