package xllm.engine.model;

import java.util.Arrays;

/**
 * Activation buffers of a forward pass, grown to the largest step seen and then reused, so that steady
 * state allocates nothing. Layers index them by role. Owned by the engine loop; the per-worker scratch
 * rows are each touched by one compute thread.
 */
public final class Workspace {
    /** Buffer roles; each layer type documents which it uses. */
    public enum Role {
        HIDDEN, NORMED, Q, K, V, ATTENTION, GATE, UP, OUT, LOGITS_INPUT,
        /** MLA: each token's low-rank query latent. */
        QUERY_LATENT,
        /** MLA: each head's attended values, before the output projection. */
        HEAD_VALUES,
        /** MoE: the router's logits, a row of experts per token. */
        ROUTER_LOGITS(QUERY_LATENT),
        /** MoE: each routed (token, expert) row's input, grouped by expert; then the shared expert's output. */
        EXPERT_INPUTS(HEAD_VALUES),
        /** MoE: each routed row's expert output. */
        EXPERT_OUTPUTS;

        /**
         * The role whose buffer this one uses. The MoE roles reuse MLA's: attention is done with them
         * before the feed-forward starts, and a layer's largest buffers are not held twice.
         */
        private final Role storage;

        Role() {
            this.storage = null;
        }

        Role(Role storage) {
            this.storage = storage;
        }

        private int buffer() {
            return storage == null ? ordinal() : storage.ordinal();
        }
    }

    private final float[][] buffers = new float[Role.values().length][];
    private final float[][] workerScratch;

    public Workspace(int workers) {
        Arrays.fill(buffers, new float[0]);
        this.workerScratch = new float[workers][0];
    }

    /** The buffer for {@code role}, at least {@code size} floats (contents undefined). */
    public float[] get(Role role, int size) {
        float[] b = buffers[role.buffer()];
        if (b.length < size) {
            b = new float[Math.max(size, b.length + b.length / 2)];
            buffers[role.buffer()] = b;
        }
        return b;
    }

    /** Per-compute-thread scratch of at least {@code size} floats; sized by {@link #reserveScratch} first. */
    public float[] scratch(int worker) {
        return workerScratch[worker];
    }

    /** Grows every worker's scratch to {@code size} floats; call on the engine loop before parallel work. */
    public void reserveScratch(int size) {
        for (int w = 0; w < workerScratch.length; w++) {
            if (workerScratch[w].length < size) {
                workerScratch[w] = new float[Math.max(size, workerScratch[w].length * 2)];
            }
        }
    }

    /** Drops every buffer (an idle engine gives its largest step's memory back); they grow again on use. */
    public void shrink() {
        Arrays.fill(buffers, new float[0]);
        for (int w = 0; w < workerScratch.length; w++) {
            workerScratch[w] = new float[0];
        }
    }

    public int workers() {
        return workerScratch.length;
    }
}
