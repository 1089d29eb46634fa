package xllm.engine.spec;

import xllm.engine.kernel.ComputePool;
import java.nio.file.Path;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelConfig;
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
        this(config, proposer, vocabSize, new SpeculationPolicy(config.numSpeculativeTokens(), config.disableByBatchSize()));
    }

    private Speculation(SpeculativeConfig config, Proposer proposer, int vocabSize, SpeculationPolicy policy) {
        this.config = config;
        this.proposer = proposer;
        this.drafts = new DraftBatch(vocabSize);
        this.policy = policy;
    }

    /** This speculation's proposer, drafting as deep as the config allows every step ({@link SpeculationPolicy#fixedDepth}). */
    public Speculation fixedDepth() {
        return new Speculation(config, proposer, drafts.vocabSize(),
                SpeculationPolicy.fixedDepth(config.numSpeculativeTokens(), config.disableByBatchSize()));
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

    /**
     * Checks, from the models' configs alone (no weights loaded), that {@code config} can run on the target
     * model in {@code targetModel}: a draft model shares its vocabulary, an {@code mtp} target declares
     * multi-token-prediction layers. For a server to refuse at once rather than after loading.
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static void check(SpeculativeConfig config, Path targetModel) {
        ModelConfig target = ModelConfig.forModel(targetModel);
        switch (config.method()) {
            case DRAFT -> {
                ModelConfig draft;
                try {
                    draft = ModelConfig.forModel(config.draftModel());
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("draft model " + config.draftModel() + ": " + e.getMessage());
                }
                if (draft.vocabSize() != target.vocabSize()) {
                    throw new IllegalArgumentException("draft model " + config.draftModel() + " has a vocabulary of " + draft.vocabSize()
                            + " tokens but the target has " + target.vocabSize() + ": a draft model must share the target's tokenizer");
                }
            }
            case MTP -> {
                if (target.raw().path("num_nextn_predict_layers").asInt(0) < 1) {
                    throw new IllegalArgumentException("model " + targetModel + " (" + target.modelType()
                            + ") has no multi-token-prediction layers: choose another speculative method");
                }
            }
            default -> {
            }
        }
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
