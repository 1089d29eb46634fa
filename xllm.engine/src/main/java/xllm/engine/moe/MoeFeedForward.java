package xllm.engine.moe;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import xllm.engine.kernel.ComputePool;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;
import xllm.engine.model.FeedForward;
import xllm.engine.model.ForwardPass;
import xllm.engine.model.Workspace;

/**
 * A mixture-of-experts feed-forward: a router picks each token's experts, the tokens are grouped by
 * expert so that every expert runs one GEMM over all of its tokens, and each token's expert outputs are
 * summed with the router's weights (in expert order, whatever the batch), plus an always-on shared
 * expert where the model has one (DeepSeek). Counts the tokens routed to each expert for load balancing.
 *
 * <p>Without a placement, a step of at most {@link #WHOLE_EXPERT_TOKENS} tokens (decode) hands each thread whole
 * experts, a share of the step's active ones, in one parallel loop: an expert's few rows are too little work to
 * split, and splitting each of its GEMMs costs a synchronisation of the pool each. Larger steps split each
 * expert's GEMMs by rows across the pool. With an {@link ExpertPlacement} the pool's threads take the placement's
 * groups and run their slots' share of the expert work whole. All give identical results. Forward runs on the engine loop; the counters and
 * the placement may be read and set from any thread.
 *
 * <p>Buffers: ROUTER_LOGITS, EXPERT_INPUTS (then the shared expert's output), GATE and UP per routed row,
 * EXPERT_OUTPUTS; the shared expert uses GATE and UP after the routed ones.
 */
public final class MoeFeedForward implements FeedForward {
    private final WeightMatrix routerWeights;
    private final ExpertRouter router;
    private final Expert[] experts;
    private final FeedForward shared;
    private final int hidden;
    private final int inner;
    private final AtomicLongArray tokensPerExpert;
    /** The experts with tokens in the call in progress, for the whole-expert split. */
    private final int[] activeExperts;
    private volatile ExpertPlacement placement;

    // One call's routing and arrays, read by the parallel tasks below; the tasks are built once so that a
    // forward pass allocates nothing. They belong to the engine thread running the call.
    private final TokenRouting routing;
    private final CallArrays call = new CallArrays();
    private final ComputePool.RangeTask routeTask = this::routeTokens;
    private final ComputePool.RangeTask gatherTask = this::gatherRows;
    private final ComputePool.RangeTask placedTask = this::runPlacedGroups;
    private final ComputePool.RangeTask activeTask = this::runActiveExperts;
    private final ComputePool.RangeTask combineTask = this::combineTokens;

    /** The arrays of the call in progress: set at its start, cleared at its end so that none outlives it. */
    private static final class CallArrays {
        Workspace workspace;
        float[] normed;
        float[] logits;
        float[] inputs;
        float[] gate;
        float[] up;
        float[] outputs;
        float[] out;
        ExpertPlacement placement;

        void clear() {
            workspace = null;
            normed = logits = inputs = gate = up = outputs = out = null;
            placement = null;
        }
    }

    /**
     * @param routerWeights the router's linear layer, a row per expert
     * @param shared the shared expert(s) every token passes through, or null
     */
    public MoeFeedForward(WeightMatrix routerWeights, ExpertRouter router, List<Expert> experts, FeedForward shared) {
        if (experts.size() != router.numExperts() || routerWeights.rows() != experts.size()) {
            throw new IllegalArgumentException("router of " + routerWeights.rows() + " rows and " + router.numExperts()
                    + " routed experts for " + experts.size() + " expert weights");
        }
        this.routerWeights = routerWeights;
        this.router = router;
        this.experts = experts.toArray(Expert[]::new);
        this.shared = shared;
        this.hidden = this.experts[0].hidden();
        this.inner = this.experts[0].inner();
        for (Expert e : this.experts) {
            if (e.hidden() != hidden || e.inner() != inner || routerWeights.cols() != hidden) {
                throw new IllegalArgumentException("experts of one layer must share their shape");
            }
        }
        this.routing = new TokenRouting(experts.size(), router.topK());
        this.tokensPerExpert = new AtomicLongArray(experts.size());
        this.activeExperts = new int[experts.size()];
    }

    /**
     * Steps of up to this many tokens run whole experts per thread (see the class comment);
     * {@code -Dxllm.moe.wholeExpertTokens=0} always splits by rows.
     */
    static final int WHOLE_EXPERT_TOKENS = Integer.getInteger("xllm.moe.wholeExpertTokens", 32);

    @Override
    public void forward(ForwardPass pass, float[] normed, float[] out) {
        int tokens = pass.batch().numTokens();
        int rows = tokens * router.topK();
        ComputePool pool = pass.pool();
        Workspace ws = pass.workspace();
        CallArrays c = call;
        try {
            c.workspace = ws;
            c.normed = normed;
            c.out = out;
            c.logits = ws.get(Workspace.Role.ROUTER_LOGITS, tokens * experts.length);
            Gemm.multiply(pool, routerWeights, normed, tokens, c.logits);
            routing.ensure(tokens);
            ws.reserveScratch(router.scratchFloats());
            pool.parallelFor(tokens, 8, routeTask);
            routing.group(tokens);
            for (int e = 0; e < experts.length; e++) {
                if (routing.tokensOf(e) > 0) {
                    tokensPerExpert.addAndGet(e, routing.tokensOf(e));
                }
            }

            c.inputs = ws.get(Workspace.Role.EXPERT_INPUTS, rows * hidden);
            c.gate = ws.get(Workspace.Role.GATE, rows * inner);
            c.up = ws.get(Workspace.Role.UP, rows * inner);
            c.outputs = ws.get(Workspace.Role.EXPERT_OUTPUTS, rows * hidden);
            pool.parallelFor(rows, 16, gatherTask);
            c.placement = placement;
            if (c.placement == null && tokens <= WHOLE_EXPERT_TOKENS) {
                int active = 0;
                for (int e = 0; e < experts.length; e++) {
                    if (routing.tokensOf(e) > 0) {
                        activeExperts[active++] = e;
                    }
                }
                pool.parallelFor(active, 1, activeTask);
            } else if (c.placement == null) {
                for (int e = 0; e < experts.length; e++) {
                    int n = routing.tokensOf(e);
                    if (n > 0) {
                        runSplitAcrossPool(pool, experts[e], routing.expertStart[e], n, c);
                    }
                }
            } else {
                pool.parallelFor(c.placement.groups(), 1, placedTask);
            }
            pool.parallelFor(tokens, 4, combineTask);
            if (shared != null) {
                shared.forward(pass, normed, c.inputs);
                VectorKernels.add(out, 0, c.inputs, 0, tokens * hidden);
            }
        } finally {
            c.clear();
        }
    }

    /** Routing scores to each token's top experts and weights. */
    private void routeTokens(int start, int end, int worker) {
        int numExperts = experts.length;
        int topK = router.topK();
        float[] scratch = call.workspace.scratch(worker);
        for (int t = start; t < end; t++) {
            router.route(call.logits, t * numExperts, routing.experts, routing.weights, t * topK, scratch);
        }
    }

    /** Copies each routed (token, expert) pair's input into the expert's contiguous rows. */
    private void gatherRows(int start, int end, int worker) {
        for (int r = start; r < end; r++) {
            System.arraycopy(call.normed, routing.rowToken[r] * hidden, call.inputs, r * hidden, hidden);
        }
    }

    /** Runs the expert slots of placement groups {@code [start, end)}, each group on one thread. */
    private void runPlacedGroups(int start, int end, int worker) {
        ExpertPlacement p = call.placement;
        for (int g = start; g < end; g++) {
            for (int s = p.groupStart(g); s < p.groupStart(g + 1); s++) {
                int e = p.expertAt(s);
                int n = routing.tokensOf(e);
                int from = n * p.replicaIndex(s) / p.replicas(e);
                int to = n * (p.replicaIndex(s) + 1) / p.replicas(e);
                if (to > from) {
                    runOnThisThread(experts[e], routing.expertStart[e] + from, to - from, call);
                }
            }
        }
    }

    /** Runs active experts {@code [start, end)} (of {@link #activeExperts}) whole, each on this thread. */
    private void runActiveExperts(int start, int end, int worker) {
        for (int i = start; i < end; i++) {
            int e = activeExperts[i];
            runOnThisThread(experts[e], routing.expertStart[e], routing.tokensOf(e), call);
        }
    }

    /** Each token's output: its experts' rows, weighted, in expert order. */
    private void combineTokens(int start, int end, int worker) {
        int topK = router.topK();
        float[] out = call.out;
        for (int t = start; t < end; t++) {
            Arrays.fill(out, t * hidden, (t + 1) * hidden, 0f);
            for (int k = 0; k < topK; k++) {
                int i = t * topK + k;
                VectorKernels.addScaled(out, t * hidden, call.outputs, routing.rowOf[i] * hidden, routing.weights[i], hidden);
            }
        }
    }

    /** Grouped rows {@code [row, row+n)} through {@code expert}, each GEMM split by rows over the pool. */
    private void runSplitAcrossPool(ComputePool pool, Expert expert, int row, int n, CallArrays c) {
        Gemm.multiply(pool, expert.gate(), c.inputs, row * hidden, n, c.gate, row * inner, inner);
        Gemm.multiply(pool, expert.up(), c.inputs, row * hidden, n, c.up, row * inner, inner);
        VectorKernels.siluMul(c.gate, c.up, row * inner, n * inner);
        Gemm.multiply(pool, expert.down(), c.gate, row * inner, n, c.outputs, row * hidden, hidden);
    }

    /** The same on the calling compute thread alone. */
    private void runOnThisThread(Expert expert, int row, int n, CallArrays c) {
        Gemm.multiplyOnThisThread(expert.gate(), c.inputs, row * hidden, n, c.gate, row * inner, inner);
        Gemm.multiplyOnThisThread(expert.up(), c.inputs, row * hidden, n, c.up, row * inner, inner);
        VectorKernels.siluMul(c.gate, c.up, row * inner, n * inner);
        Gemm.multiplyOnThisThread(expert.down(), c.gate, row * inner, n, c.outputs, row * hidden, hidden);
    }

    public int numExperts() {
        return experts.length;
    }

    public int topK() {
        return router.topK();
    }

    /** Tokens routed to each expert since the last reset (a token counts once per chosen expert). */
    public long[] tokensPerExpert() {
        long[] out = new long[experts.length];
        for (int e = 0; e < out.length; e++) {
            out[e] = tokensPerExpert.get(e);
        }
        return out;
    }

    public void resetTokenCounts() {
        for (int e = 0; e < experts.length; e++) {
            tokensPerExpert.set(e, 0);
        }
    }

    /** Splits expert work across the compute threads by {@code placement} from the next step on; null for the row split. */
    public void setPlacement(ExpertPlacement placement) {
        if (placement != null && placement.numExperts() != experts.length) {
            throw new IllegalArgumentException("placement for " + placement.numExperts() + " experts on a layer of " + experts.length);
        }
        this.placement = placement;
    }

    public ExpertPlacement placement() {
        return placement;
    }
}
