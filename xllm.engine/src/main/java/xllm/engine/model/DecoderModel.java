package xllm.engine.model;

import java.util.ArrayList;
import java.util.List;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.weights.WeightSource;

/**
 * A decoder-only transformer as the Llama, Qwen and DeepSeek families build it: token embedding, a stack
 * of {@link DecoderLayer}s (whatever attention and feed-forward each uses), a final RMSNorm and the LM
 * head, applied only to the tokens that sample.
 */
public final class DecoderModel implements CausalLM {
    private final ModelConfig config;
    private final WeightSource weights;
    private final WeightMatrix embedding;
    private final List<DecoderLayer> layers;
    private final float[] finalNorm;
    private final WeightMatrix lmHead;
    private final int kvFloatsPerSlot;
    private final List<MtpHead> mtpHeads;

    public DecoderModel(ModelConfig config, WeightSource weights, WeightMatrix embedding, List<DecoderLayer> layers,
                        float[] finalNorm, WeightMatrix lmHead) {
        this(config, weights, embedding, layers, finalNorm, lmHead, List.of());
    }

    /** @param mtpHeads the checkpoint's multi-token prediction modules, loaded but not run by {@link #forward} */
    public DecoderModel(ModelConfig config, WeightSource weights, WeightMatrix embedding, List<DecoderLayer> layers,
                        float[] finalNorm, WeightMatrix lmHead, List<MtpHead> mtpHeads) {
        this.mtpHeads = List.copyOf(mtpHeads);
        this.config = config;
        this.weights = weights;
        this.embedding = embedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.kvFloatsPerSlot = layers.stream().mapToInt(l -> l.attention().kvFloatsPerSlot()).max().orElseThrow();
    }

    @Override
    public void forward(ForwardPass pass, float[] logits) {
        forward(pass, logits, null);
    }

    @Override
    public void forward(ForwardPass pass, float[] logits, float[] hiddenStates) {
        StepBatch batch = pass.batch();
        Workspace ws = pass.workspace();
        int tokens = batch.numTokens();
        int hidden = config.hiddenSize();
        float[] x = ws.get(Workspace.Role.HIDDEN, tokens * hidden);
        float[] normed = ws.get(Workspace.Role.NORMED, tokens * hidden);
        float[] out = ws.get(Workspace.Role.OUT, tokens * hidden);
        for (int t = 0; t < tokens; t++) {
            int token = batch.token(t);
            if (token < 0 || token >= embedding.rows()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary of " + embedding.rows());
            }
            embedding.copyRow(token, x, t * hidden);
        }
        float eps = config.rmsNormEps();
        for (int l = 0; l < layers.size(); l++) {
            layers.get(l).forward(pass, l, eps, x, normed, out);
        }
        if (hiddenStates != null) {
            System.arraycopy(x, 0, hiddenStates, 0, tokens * hidden);
        }
        int sampled = batch.numSampled();
        if (sampled == 0) {
            return;
        }
        float[] last = ws.get(Workspace.Role.LOGITS_INPUT, sampled * hidden);
        for (int row = 0; row < sampled; row++) {
            VectorKernels.rmsNorm(x, batch.sampledTokenIndex(row) * hidden, finalNorm, eps, last, row * hidden, hidden);
        }
        Gemm.multiply(pass.pool(), lmHead, last, sampled, logits);
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int kvFloatsPerSlot() {
        return kvFloatsPerSlot;
    }

    @Override
    public boolean supportsF16Cache(int blockSize) {
        return layers.stream().allMatch(l -> l.attention().supportsF16Cache(blockSize));
    }

    @Override
    public int numLayers() {
        return layers.size();
    }

    /** The decoder stack, for inspecting its layers (expert load counters, placements). */
    public List<DecoderLayer> layers() {
        return layers;
    }

    /** The mixture-of-experts feed-forwards of the decoder stack, in depth order; empty for a dense model. */
    public List<MoeFeedForward> moeLayers() {
        List<MoeFeedForward> moe = new ArrayList<>();
        for (DecoderLayer l : layers) {
            if (l.feedForward() instanceof MoeFeedForward m) {
                moe.add(m);
            }
        }
        return moe;
    }

    /** Multi-token prediction modules (DeepSeek-V3), in depth order; empty when the checkpoint has none. */
    public List<MtpHead> mtpHeads() {
        return mtpHeads;
    }

    @Override
    public void close() {
        weights.close();
    }
}
