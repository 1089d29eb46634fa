package xllm.engine.model;

import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.PagedAttention;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;
import xllm.kv.PageArena;

/**
 * DeepSeek's multi-head latent attention. The cache keeps per token only the normalized KV latent and
 * the rotated rope key shared by all heads ({@code kvLoraRank + qkRopeHeadDim} floats); attention runs
 * in latent space with the up-projection absorbed: each head's no-rope query goes through
 * {@code W_UK^T}, scores against the whole slot, averages the latents, and {@code W_UV} lifts the
 * result to the head's value. Called by the engine loop, which splits the work over the compute pool;
 * uses buffers Q, K, V, ATTENTION, QUERY_LATENT, HEAD_VALUES and the worker scratch.
 */
public final class MlaAttention implements AttentionLayer {
    /** Hugging Face's default for q_a_layernorm and kv_a_layernorm, which take no eps from the config. */
    private static final float LORA_NORM_EPS = 1e-6f;

    private final MlaDimensions d;
    private final WeightMatrix qA;
    private final float[] qANorm;
    private final WeightMatrix qB;
    private final WeightMatrix kvA;
    private final float[] kvANorm;
    private final KvUpProjection kvB;
    private final WeightMatrix wo;
    private final Rope rope;
    private final boolean ropeInterleaved;
    private final float scale;

    /**
     * @param qA     {@code q_a_proj}, or null when {@code qB} is a plain {@code q_proj}
     * @param scale  the softmax scale: {@code 1/sqrt(qkHeadDim)}, times YaRN's mscale squared when scaled
     */
    public MlaAttention(MlaDimensions d, WeightMatrix qA, float[] qANorm, WeightMatrix qB, WeightMatrix kvA,
                        float[] kvANorm, KvUpProjection kvB, WeightMatrix wo, Rope rope, boolean ropeInterleaved,
                        float scale) {
        this.d = d;
        this.qA = qA;
        this.qANorm = qANorm;
        this.qB = qB;
        this.kvA = kvA;
        this.kvANorm = kvANorm;
        this.kvB = kvB;
        this.wo = wo;
        this.rope = rope;
        this.ropeInterleaved = ropeInterleaved;
        this.scale = scale;
    }

    @Override
    public int kvFloatsPerSlot() {
        return d.latentFloatsPerSlot();
    }

    // The current call's state, read by the parallel tasks below; the tasks are built once so that a
    // forward pass allocates nothing. They belong to the engine thread running the pass.
    private final ComputePool.RangeTask prepareTask = this::prepareTokens;
    private final ComputePool.RangeTask absorbTask = this::absorbQueries;
    private final ComputePool.RangeTask attendTask = this::attendHeads;
    private final ComputePool.RangeTask valueTask = this::lift;
    private ForwardPass pass;
    private int layer;
    private float[] q;
    private float[] kv;
    private float[] latentQ;
    private float[] latentOut;
    private float[] values;

    @Override
    public void forward(ForwardPass pass, int layer, float[] normed, float[] out) {
        StepBatch batch = pass.batch();
        Workspace ws = pass.workspace();
        int tokens = batch.numTokens();
        int heads = d.numHeads();
        int nope = d.qkNopeHeadDim();
        int ropeDim = d.qkRopeHeadDim();
        int qk = d.qkHeadDim();
        int slot = d.latentFloatsPerSlot();
        int vDim = d.vHeadDim();
        this.pass = pass;
        this.layer = layer;
        try {
            q = ws.get(Workspace.Role.Q, tokens * heads * qk);
            if (qA != null) {
                float[] qLatent = ws.get(Workspace.Role.QUERY_LATENT, tokens * d.qLoraRank());
                Gemm.multiply(pass.pool(), qA, normed, tokens, qLatent);
                for (int t = 0; t < tokens; t++) {
                    int o = t * d.qLoraRank();
                    VectorKernels.rmsNorm(qLatent, o, qANorm, LORA_NORM_EPS, qLatent, o, d.qLoraRank());
                }
                Gemm.multiply(pass.pool(), qB, qLatent, tokens, q);
            } else {
                Gemm.multiply(pass.pool(), qB, normed, tokens, q);
            }
            kv = ws.get(Workspace.Role.K, tokens * slot);
            Gemm.multiply(pass.pool(), kvA, normed, tokens, kv);

            rope.ensurePositions(batch.maxPosition());
            ws.reserveScratch(Math.max(Math.max(batch.maxPosition() + 1, ropeDim), tokens * nope));
            pass.pool().parallelFor(tokens, 1, prepareTask);
            // queries in latent space: [W_UK^T q_nope | q_rope] per token and head, laid out like a slot
            latentQ = ws.get(Workspace.Role.V, tokens * heads * slot);
            pass.pool().parallelFor(heads, 1, absorbTask);
            // attention over the cached slots; the attended latents are kept head-major for the per-head up-projection
            latentOut = ws.get(Workspace.Role.ATTENTION, heads * tokens * d.kvLoraRank());
            pass.pool().parallelFor(tokens * heads, 1, attendTask);
            values = ws.get(Workspace.Role.HEAD_VALUES, tokens * heads * vDim);
            pass.pool().parallelFor(heads, 1, valueTask);
            Gemm.multiply(pass.pool(), wo, values, tokens, out);
        } finally {
            this.pass = null;
            this.q = this.kv = this.latentQ = this.latentOut = this.values = null;
        }
    }

    /** Normalizes and rotates the new latents and rope keys, rotates the queries, and caches the slots. */
    private void prepareTokens(int start, int end, int worker) {
        StepBatch batch = pass.batch();
        PageArena arena = pass.kv();
        int blockSize = arena.blockSize();
        int heads = d.numHeads();
        int rank = d.kvLoraRank();
        int nope = d.qkNopeHeadDim();
        int qk = d.qkHeadDim();
        int slot = d.latentFloatsPerSlot();
        float[] scratch = pass.workspace().scratch(worker);
        for (int t = start; t < end; t++) {
            int position = batch.position(t);
            VectorKernels.rmsNorm(kv, t * slot, kvANorm, LORA_NORM_EPS, kv, t * slot, rank);
            rotate(kv, t * slot + rank, position, scratch);
            for (int h = 0; h < heads; h++) {
                rotate(q, (t * heads + h) * qk + nope, position, scratch);
            }
            int[] blocks = batch.blocks(batch.entryOf(t));
            arena.writeSlot(blocks[position / blockSize], layer, position % blockSize, kv, t * slot, slot, 0);
        }
    }

    /** Takes each head's no-rope query part into latent space with the absorbed key up-projection. */
    private void absorbQueries(int start, int end, int worker) {
        int tokens = pass.batch().numTokens();
        int heads = d.numHeads();
        int rank = d.kvLoraRank();
        int nope = d.qkNopeHeadDim();
        int ropeDim = d.qkRopeHeadDim();
        int qk = d.qkHeadDim();
        int slot = d.latentFloatsPerSlot();
        float[] gathered = pass.workspace().scratch(worker);
        for (int h = start; h < end; h++) {
            for (int t = 0; t < tokens; t++) {
                int from = (t * heads + h) * qk;
                System.arraycopy(q, from, gathered, t * nope, nope);
                System.arraycopy(q, from + nope, latentQ, (t * heads + h) * slot + rank, ropeDim);
            }
            kvB.keyAbsorb()[h].multiply(gathered, tokens, latentQ, h * slot, heads * slot, 0, rank);
        }
    }

    /** Attention of each (token, head) pair over its sequence's cached latents. */
    private void attendHeads(int start, int end, int worker) {
        StepBatch batch = pass.batch();
        int tokens = batch.numTokens();
        int heads = d.numHeads();
        int rank = d.kvLoraRank();
        int slot = d.latentFloatsPerSlot();
        float[] scores = pass.workspace().scratch(worker);
        for (int i = start; i < end; i++) {
            int t = i / heads;
            int h = i % heads;
            int[] blocks = batch.blocks(batch.entryOf(t));
            PagedAttention.attend(pass.kv(), layer, blocks, batch.position(t) + 1, latentQ, i * slot,
                    0, slot, 0, rank, scale, latentOut, (h * tokens + t) * rank, scores);
        }
    }

    /** Lifts each head's attended latent to its value with the value up-projection. */
    private void lift(int start, int end, int worker) {
        int tokens = pass.batch().numTokens();
        int heads = d.numHeads();
        int rank = d.kvLoraRank();
        int vDim = d.vHeadDim();
        for (int h = start; h < end; h++) {
            kvB.valueUp()[h].multiply(latentOut, h * tokens * rank, tokens, values, h * vDim, heads * vDim, 0, vDim);
        }
    }

    private void rotate(float[] x, int offset, int position, float[] scratch) {
        if (ropeInterleaved) {
            rope.rotateInterleaved(x, offset, position, scratch);
        } else {
            rope.rotateHalf(x, offset, position);
        }
    }
}
