package xllm.engine.spec;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * SuffixDecoding, vLLM's {@code suffix} method (arXiv 2411.04975, as in ArcticInference's
 * {@code SuffixDecodingCache}): drafts from two suffix trees, one over each running sequence's own tokens (prompt
 * and output, kept up to date as it grows) and one over the outputs of the last {@code maxCachedRequests}
 * finished sequences, and takes the draft with the higher expected number of accepted tokens. Owned by the
 * engine loop thread.
 */
public final class SuffixProposer implements Proposer {
    private final int maxTreeDepth;
    private final int maxCachedRequests;
    private final float maxSpecFactor;
    private final float minTokenProb;
    private final Long2ObjectHashMap<SuffixTree> running = new Long2ObjectHashMap<>();
    private final SuffixTree finishedOutputs;
    private final SuffixDraft ownDraft = new SuffixDraft();
    private final SuffixDraft cachedDraft = new SuffixDraft();

    /**
     * @param maxTreeDepth longest context suffix matched, and depth of the trees
     * @param maxCachedRequests finished outputs kept in the shared tree, oldest evicted first (0: none)
     * @param maxSpecFactor a draft is at most this many times the length of the match it continues
     * @param minTokenProb drafting stops at a token whose estimated probability falls below this
     */
    public SuffixProposer(int maxTreeDepth, int maxCachedRequests, float maxSpecFactor, float minTokenProb) {
        if (maxTreeDepth < 1 || maxCachedRequests < 0 || !(maxSpecFactor > 0) || !(minTokenProb >= 0 && minTokenProb <= 1)) {
            throw new IllegalArgumentException("suffix decoding needs max_tree_depth >= 1, max_cached_requests >= 0, "
                    + "max_spec_factor > 0 and min_token_prob in [0, 1]; got " + maxTreeDepth + ", " + maxCachedRequests
                    + ", " + maxSpecFactor + ", " + minTokenProb);
        }
        this.maxTreeDepth = maxTreeDepth;
        this.maxCachedRequests = maxCachedRequests;
        this.maxSpecFactor = maxSpecFactor;
        this.minTokenProb = minTokenProb;
        this.finishedOutputs = new SuffixTree(maxTreeDepth);
    }

    /** Takes the {@code suffix} knobs of {@code config}. */
    public SuffixProposer(SpeculativeConfig config) {
        this(config.maxTreeDepth(), config.maxCachedRequests(), config.maxSpecFactor(), config.minTokenProb());
    }

    @Override
    public void propose(DraftBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            int[] tokens = batch.tokens(i);
            int length = batch.length(i);
            SuffixTree own = ownTree(batch.sequenceId(i), tokens, length);
            int maxDrafts = batch.maxDrafts(i);
            if (maxDrafts == 0 || length == 0) {
                continue;
            }
            int from = Math.max(0, length - maxTreeDepth);
            own.speculate(tokens, from, length, maxDrafts, maxSpecFactor, minTokenProb, ownDraft);
            SuffixDraft best = ownDraft;
            if (finishedOutputs.sequenceCount() > 0) {
                finishedOutputs.speculate(tokens, from, length, maxDrafts, maxSpecFactor, minTokenProb, cachedDraft);
                if (cachedDraft.score() > ownDraft.score()) {
                    best = cachedDraft;
                }
            }
            batch.setDraft(i, best.tokens(), 0, best.count());
        }
    }

    /** The sequence's own tree, brought up to {@code tokens[0 .. length)}. */
    private SuffixTree ownTree(long sequenceId, int[] tokens, int length) {
        SuffixTree tree = running.get(sequenceId);
        if (tree == null) {
            tree = new SuffixTree(maxTreeDepth);
            tree.startSequence();
            running.put(sequenceId, tree);
        } else if (!tree.openIsPrefixOf(tokens, length)) {
            // the engine only appends; should tokens seen before change, start over from what is there now
            tree.clear();
            tree.startSequence();
        }
        tree.extend(tokens, tree.openLength(), length);
        return tree;
    }

    /** Forgets the sequence's own tree and adds its output to the shared tree, evicting the oldest beyond the bound. */
    @Override
    public void finished(long sequenceId, int[] tokens, int promptLength, int length) {
        running.remove(sequenceId);
        if (maxCachedRequests == 0 || length <= promptLength) {
            return;
        }
        finishedOutputs.startSequence();
        finishedOutputs.extend(tokens, promptLength, length);
        while (finishedOutputs.sequenceCount() > maxCachedRequests) {
            finishedOutputs.removeOldest();
        }
    }

    @Override
    public void close() {
        running.clear();
        finishedOutputs.clear();
    }
}
