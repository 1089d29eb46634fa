package xllm.engine.spec;

import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;

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

    /**
     * The speculation {@code config} asks for on {@code target}: its proposer built (a draft model loaded, with a
     * KV cache of up to {@code draftKvBytes}).
     *
     * @throws IllegalArgumentException when the method cannot run on this target, naming why
     */
    public static Speculation create(SpeculativeConfig config, CausalLM target, ComputePool pool, long draftKvBytes) {
        Proposer proposer = switch (config.method()) {
            case DRAFT -> DraftModelProposer.load(config.draftModel(), target, pool, draftKvBytes);
            case NGRAM, SUFFIX, MTP -> throw new IllegalArgumentException("speculative method " + config.method().spelling() + " is not built yet");
        };
        return new Speculation(config, proposer, target.config().vocabSize());
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
