package xllm.engine.model;

import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.GroupedKeyAttention;
import xllm.engine.kernel.PagedAttention;
import xllm.engine.kernel.Rope;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;
import xllm.kv.PageArena;

/**
 * Grouped-query attention of the Llama family (keys stored transposed within blocks when the block size
 * is a whole number of vectors, see {@link GroupedKeyAttention}): q/k/v projections (Qwen2 adds biases, Qwen3 a per-head
 * RMSNorm of q and k), rotary positions, the new keys and values stored in the paged cache, attention
 * over each sequence's whole context, and the output projection. Uses buffers Q, K, V, ATTENTION.
 */
public final class GqaAttention implements AttentionLayer {
    private final WeightMatrix wq;
    private final WeightMatrix wk;
    private final WeightMatrix wv;
    private final WeightMatrix wo;
    private final float[] bq;
    private final float[] bk;
    private final float[] bv;
    private final float[] qNorm;
    private final float[] kNorm;
    private final float normEps;
    private final Rope rope;
    private final boolean ropeInterleaved;
    private final int numHeads;
    private final int numKvHeads;
    private final int headDim;
    private final float scale;

    public GqaAttention(WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                        float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm, float normEps,
                        Rope rope, boolean ropeInterleaved, int numHeads, int numKvHeads, int headDim) {
        this.wq = wq;
        this.wk = wk;
        this.wv = wv;
        this.wo = wo;
        this.bq = bq;
        this.bk = bk;
        this.bv = bv;
        this.qNorm = qNorm;
        this.kNorm = kNorm;
        this.normEps = normEps;
        this.rope = rope;
        this.ropeInterleaved = ropeInterleaved;
        this.numHeads = numHeads;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
    }

    @Override
    public int kvFloatsPerSlot() {
        return 2 * numKvHeads * headDim;
    }

    @Override
    public boolean supportsF16Cache(int blockSize) {
        return GroupedKeyAttention.supportsF16(blockSize, headDim);
    }

    @Override
    public void forward(ForwardPass pass, int layer, float[] normed, float[] out) {
        StepBatch batch = pass.batch();
        Workspace ws = pass.workspace();
        int tokens = batch.numTokens();
        int qDim = numHeads * headDim;
        int kvDim = numKvHeads * headDim;
        float[] q = ws.get(Workspace.Role.Q, tokens * qDim);
        float[] k = ws.get(Workspace.Role.K, tokens * kvDim);
        float[] v = ws.get(Workspace.Role.V, tokens * kvDim);
        float[] attn = ws.get(Workspace.Role.ATTENTION, tokens * qDim);
        Gemm.multiply(pass.pool(), normed, tokens, wq, q, wk, k, wv, v);
        rope.ensurePositions(batch.maxPosition());

        // scores are written a whole block at a time, a row per head of a call
        int blockSize = pass.kv().blockSize();
        int context = batch.maxPosition() + 1;
        ws.reserveScratch(Math.max(Math.max(context + blockSize, headDim),
                GroupedKeyAttention.scoresLength(headsPerCall(), context, blockSize)));
        Step step = steps.get();
        step.begin(pass, layer, q, k, v, attn);
        try {
            pass.pool().parallelFor(tokens, 1, step.prepare);
            pass.pool().parallelFor(tokens * numKvHeads * callsPerKvHead(), 1, step.attend);
        } finally {
            step.end();
        }
        Gemm.multiply(pass.pool(), wo, attn, tokens, out);
    }

    /**
     * The per-token work of one forward call, reused from call to call by the calling thread so that the
     * parallel loops allocate nothing; the pool's threads read it during the loops.
     */
    private final class Step {
        final ComputePool.RangeTask prepare = this::prepare;
        final ComputePool.RangeTask attend = this::attend;
        ForwardPass pass;
        int layer;
        float[] q;
        float[] k;
        float[] v;
        float[] attn;

        void begin(ForwardPass pass, int layer, float[] q, float[] k, float[] v, float[] attn) {
            this.pass = pass;
            this.layer = layer;
            this.q = q;
            this.k = k;
            this.v = v;
            this.attn = attn;
        }

        void end() {
            pass = null;
            q = k = v = attn = null;
        }

        /** Biases, q/k norms and rotary positions, then the new keys and values into the paged cache. */
        private void prepare(int start, int end, int worker) {
            StepBatch batch = pass.batch();
            PageArena arena = pass.kv();
            int blockSize = arena.blockSize();
            int qDim = numHeads * headDim;
            int kvDim = numKvHeads * headDim;
            float[] scratch = pass.workspace().scratch(worker);
            for (int t = start; t < end; t++) {
                int position = batch.position(t);
                prepareHeads(q, t * qDim, numHeads, bq, qNorm, position, scratch);
                prepareHeads(k, t * kvDim, numKvHeads, bk, kNorm, position, scratch);
                addBias(v, t * kvDim, bv);
                int[] blocks = batch.blocks(batch.entryOf(t));
                int block = blocks[position / blockSize];
                if (GroupedKeyAttention.supports(blockSize)) {
                    GroupedKeyAttention.write(arena, layer, block, position % blockSize, k, v, t * kvDim, numKvHeads, headDim);
                } else {
                    arena.writeSlot(block, layer, position % blockSize, k, t * kvDim, kvDim, 0);
                    arena.writeSlot(block, layer, position % blockSize, v, t * kvDim, kvDim, kvDim);
                }
            }
        }

        /**
         * Attention of each token's heads over its whole context: one unit of work is up to
         * {@link GroupedKeyAttention#HEADS_PER_CALL} heads of one KV head, which read the cache together.
         */
        private void attend(int start, int end, int worker) {
            StepBatch batch = pass.batch();
            int qDim = numHeads * headDim;
            int group = numHeads / numKvHeads;
            int calls = callsPerKvHead();
            int perCall = headsPerCall();
            float[] scores = pass.workspace().scratch(worker);
            boolean transposedKeys = GroupedKeyAttention.supports(pass.kv().blockSize());
            for (int i = start; i < end; i++) {
                int t = i / (numKvHeads * calls);
                int kvHead = i / calls % numKvHeads;
                int first = kvHead * group + i % calls * perCall;
                int heads = Math.min(perCall, (kvHead + 1) * group - first);
                int[] blocks = batch.blocks(batch.entryOf(t));
                int offset = t * qDim + first * headDim;
                if (transposedKeys) {
                    GroupedKeyAttention.attend(pass.kv(), layer, blocks, batch.position(t) + 1, q, offset, kvHead, heads,
                            numKvHeads, headDim, scale, attn, offset, scores);
                } else {
                    for (int h = 0; h < heads; h++) {
                        PagedAttention.attend(pass.kv(), layer, blocks, batch.position(t) + 1, q, offset + h * headDim, kvHead,
                                numKvHeads, headDim, scale, attn, offset + h * headDim, scores);
                    }
                }
            }
        }
    }

    /** Query heads attended together: a KV head's group, or as many of it as one call takes. */
    private int headsPerCall() {
        return Math.min(numHeads / numKvHeads, GroupedKeyAttention.HEADS_PER_CALL);
    }

    /** Attention calls per token and KV head. */
    private int callsPerKvHead() {
        int group = numHeads / numKvHeads;
        return (group + headsPerCall() - 1) / headsPerCall();
    }

    private final ThreadLocal<Step> steps = ThreadLocal.withInitial(Step::new);

    private void prepareHeads(float[] x, int offset, int heads, float[] bias, float[] norm, int position, float[] scratch) {
        addBias(x, offset, bias);
        for (int h = 0; h < heads; h++) {
            int o = offset + h * headDim;
            if (norm != null) {
                VectorKernels.rmsNorm(x, o, norm, normEps, x, o, headDim);
            }
            if (ropeInterleaved) {
                // de-interleaves q and k alike, which leaves their dot products unchanged
                rope.rotateInterleaved(x, o, position, scratch);
            } else {
                rope.rotateHalf(x, o, position);
            }
        }
    }

    private static void addBias(float[] x, int offset, float[] bias) {
        if (bias != null) {
            VectorKernels.add(x, offset, bias, 0, bias.length);
        }
    }
}
