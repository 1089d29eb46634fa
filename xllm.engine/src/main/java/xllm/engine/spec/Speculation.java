package xllm.engine.spec;

/**
 * An engine instance's speculative decoding: the proposer that drafts, the batch it drafts into, and the
 * policy that decides how deep to draft. Owned by the engine loop thread; closing it closes the proposer.
 */
public final class Speculation implements AutoCloseable {
    private final SpeculativeConfig config;
    private final Proposer proposer;
    private final DraftBatch drafts;
    private final SpeculationPolicy policy;

    public Speculation(SpeculativeConfig config, Proposer proposer, int vocabSize) {
        this.config = config;
        this.proposer = proposer;
        this.drafts = new DraftBatch(vocabSize);
        this.policy = new SpeculationPolicy(config.numSpeculativeTokens(), config.disableByBatchSize());
    }

    public SpeculativeConfig config() {
        return config;
    }

    public Proposer proposer() {
        return proposer;
    }

    public DraftBatch drafts() {
        return drafts;
    }

    public SpeculationPolicy policy() {
        return policy;
    }

    @Override
    public void close() {
        proposer.close();
    }
}
