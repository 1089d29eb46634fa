package xllm.engine.spec;

import java.util.Arrays;
import xllm.engine.model.StepBatch;
import xllm.kv.BlockAllocator;

/**
 * What {@link MtpProposer} knows of one sequence: the blocks of its MTP cache, how far that cache holds the pairs
 * {@code (t_{i+1}, h_i)} of verified tokens, and the target's hidden states observed beyond, each with the token fed
 * at its position (a draft, perhaps, that verification rejects). Owned by the engine loop thread.
 */
final class MtpSequence {
    private final int hiddenSize;
    private final int blockSize;
    private int[] blocks = new int[8];
    private int blockCount;
    /** The first position whose hidden state was seen; the MTP cache's slots count from here. */
    private int base;
    /** The cache holds the pairs of positions {@code [base, committed)}. */
    private int committed;
    /** Hidden states observed at positions {@code [committed, committed + pending)}, with the tokens fed there. */
    private int pending;
    private int[] fed = new int[0];
    private float[] states = new float[0];
    /** The drafts last made, for a sequence of {@code draftedFor} tokens: kept for an ask repeated before the target runs. */
    private int draftedFor = -1;
    private int[] drafts = new int[8];
    private int draftCount;

    MtpSequence(int hiddenSize, int blockSize) {
        this.hiddenSize = hiddenSize;
        this.blockSize = blockSize;
    }

    /** Copies the hidden states of {@code entry}'s tokens, which replace whatever was observed from their first position on. */
    void observe(StepBatch batch, int entry, float[] hidden) {
        int first = batch.firstToken(entry);
        int count = batch.tokenCount(entry);
        int position = batch.position(first);
        if (position < base || position > committed + pending) {
            restart(position); // the states before it were never seen: draft from what is
        }
        int skip = Math.max(0, committed - position); // recomputed positions whose pairs are cached already
        if (skip >= count) {
            return;
        }
        int at = position + skip - committed;
        int end = at + count - skip;
        ensureWindow(end);
        for (int k = skip; k < count; k++) {
            fed[at + k - skip] = batch.token(first + k);
        }
        System.arraycopy(hidden, (first + skip) * hiddenSize, states, at * hiddenSize, (count - skip) * hiddenSize);
        pending = end; // states beyond were computed over tokens this step replaced
    }

    /**
     * Keeps the observed states that the sequence's tokens {@code [0, length)} confirm: up to the first position fed
     * a token other than the sequence's (a rejected draft). Returns the end of the pairs computable now: pair
     * {@code i} needs {@code h_i} and the token {@code t_{i+1}}.
     */
    int confirm(int[] tokens, int length) {
        int valid = 0;
        while (valid < pending && committed + valid < length && fed[valid] == tokens[committed + valid]) {
            valid++;
        }
        pending = valid;
        return Math.max(committed, Math.min(committed + valid, length - 1));
    }

    /** Grows the cache towards a slot for {@code position}, as far as {@code allocator} lets; returns the last position covered. */
    int reserve(int position, BlockAllocator allocator) {
        int needed = (position - base) / blockSize + 1;
        while (blockCount < needed) {
            int block = allocator.allocate();
            if (block < 0) {
                break;
            }
            if (blockCount == blocks.length) {
                blocks = Arrays.copyOf(blocks, blockCount * 2);
            }
            blocks[blockCount++] = block;
        }
        return base + blockCount * blockSize - 1;
    }

    /** The pairs up to {@code end} are cached now: their hidden states are dropped. */
    void commit(int end) {
        int n = end - committed;
        pending -= n;
        System.arraycopy(fed, n, fed, 0, pending);
        System.arraycopy(states, n * hiddenSize, states, 0, pending * hiddenSize);
        committed = end;
    }

    void rememberDrafts(int length, int[] tokens, int count) {
        if (drafts.length < count) {
            drafts = new int[count];
        }
        System.arraycopy(tokens, 0, drafts, 0, count);
        draftCount = count;
        draftedFor = length;
    }

    /** Drafts made before for the same {@code length} tokens, appended again to {@code batch}'s row {@code i}. */
    void repeatDrafts(DraftBatch batch, int i, int length) {
        if (draftedFor != length) {
            return;
        }
        for (int k = 0; k < Math.min(draftCount, batch.maxDrafts(i)); k++) {
            batch.append(i, drafts[k]);
        }
    }

    void release(BlockAllocator allocator) {
        for (int b = 0; b < blockCount; b++) {
            allocator.release(blocks[b]);
        }
        blockCount = 0;
    }

    int base() { return base; }
    int committed() { return committed; }
    int[] blocks() { return blocks; }
    int blockCount() { return blockCount; }
    /** Hidden states from position {@link #committed()} on, {@code hiddenSize} floats each. */
    float[] states() { return states; }

    private void restart(int position) {
        base = position;
        committed = position;
        pending = 0;
        draftedFor = -1;
    }

    private void ensureWindow(int n) {
        if (fed.length < n) {
            int size = Math.max(n, fed.length * 2);
            fed = Arrays.copyOf(fed, size);
            states = Arrays.copyOf(states, size * hiddenSize);
        }
    }
}
