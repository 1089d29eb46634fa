package xllm.engine.spec;

import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.runner.ModelRunner;

/**
 * An engine instance's speculative decoding: the proposer that drafts, the batch it drafts into, and the
 * policy that decides how deep to draft. Owned by the engine loop thread; closing it closes the proposer.
 */
public final class Speculation implements AutoCloseable {
    private static final int MTP_BLOCK_SIZE = 16;
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
     * The speculation {@code config} asks for on the model {@code target} runs: its proposer built (a draft model
     * loaded, or the target's MTP layers given a KV cache, of up to {@code draftKvBytes}).
     *
     * @throws IllegalArgumentException when the method cannot run on this target, naming why
     */
    public static Speculation create(SpeculativeConfig config, ModelRunner target, ComputePool pool, long draftKvBytes) {
        CausalLM model = target.model();
        Proposer proposer = switch (config.method()) {
            case NGRAM -> new NgramProposer(config);
            case SUFFIX -> new SuffixProposer(config);
            case DRAFT -> DraftModelProposer.load(config.draftModel(), model, pool, draftKvBytes);
            case MTP -> {
                long bytesPerBlock = (long) model.kvFloatsPerSlot() * Float.BYTES * MTP_BLOCK_SIZE;
                MtpProposer mtp = MtpProposer.forModel(model, pool, (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                        draftKvBytes / bytesPerBlock)), MTP_BLOCK_SIZE);
                target.keepHiddenStates(true); // the MTP layers draft from the target's last hidden states
                yield mtp;
            }
        };
        return new Speculation(config, proposer, model.config().vocabSize());
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
