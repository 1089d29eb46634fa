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
 * <p>Without a placement each expert's GEMMs split their rows across the compute pool; with an
 * {@link ExpertPlacement} the pool's threads take the placement's groups and run their slots' share of
 * the expert work whole. Both give identical results. Forward runs on the engine loop; the counters and
 * the placement may be read and set from any thread.
 *
 * <p>Buffers: EXTRA1 router logits, EXTRA2 grouped inputs (then the shared expert's output), GATE and UP
 * per routed row, EXTRA3 expert outputs; the shared expert uses GATE and UP after the routed ones.
 */
public final class MoeFeedForward implements FeedForward {
    private final WeightMatrix router;
    private final ExpertRouter routing;
    private final Expert[] experts;
    private final FeedForward shared;
    private final int hidden;
    private final int inner;
    private final TokenRouting step;
    private final AtomicLongArray tokensPerExpert;
    private volatile ExpertPlacement placement;

    /** @param shared the shared expert(s) every token passes through, or null */
    public MoeFeedForward(WeightMatrix router, ExpertRouter routing, List<Expert> experts, FeedForward shared) {
        if (experts.size() != routing.numExperts() || router.rows() != experts.size()) {
            throw new IllegalArgumentException("router of " + router.rows() + " rows and " + routing.numExperts()
                    + " routed experts for " + experts.size() + " expert weights");
        }
        this.router = router;
        this.routing = routing;
        this.experts = experts.toArray(Expert[]::new);
        this.shared = shared;
        this.hidden = this.experts[0].hidden();
        this.inner = this.experts[0].inner();
        for (Expert e : this.experts) {
            if (e.hidden() != hidden || e.inner() != inner || router.cols() != hidden) {
                throw new IllegalArgumentException("experts of one layer must share their shape");
            }
        }
        this.step = new TokenRouting(experts.size(), routing.topK());
        this.tokensPerExpert = new AtomicLongArray(experts.size());
    }

    // The current call's buffers, read by the parallel tasks below; the tasks are built once so that a
    // forward pass allocates nothing. Like the routing step, they belong to the engine thread running it.
    private final ComputePool.RangeTask routeTask = this::routeTokens;
    private final ComputePool.RangeTask gatherTask = this::gatherRows;
    private final ComputePool.RangeTask placedTask = this::runPlacedGroups;
    private final ComputePool.RangeTask combineTask = this::combineTokens;
    private Workspace ws;
    private float[] normed;
    private float[] logits;
    private float[] x;
    private float[] gate;
    private float[] up;
    private float[] y;
    private float[] out;
    private ExpertPlacement activePlacement;

    @Override
    public void forward(ForwardPass pass, float[] normed, float[] out) {
        int tokens = pass.batch().numTokens();
        int topK = routing.topK();
        ComputePool pool = pass.pool();
        int numExperts = experts.length;
        this.ws = pass.workspace();
        this.normed = normed;
        this.out = out;
        try {
            logits = ws.get(Workspace.Role.EXTRA1, tokens * numExperts);
            Gemm.multiply(pool, router, normed, tokens, logits);
            step.ensure(tokens);
            ws.reserveScratch(routing.scratchFloats());
            pool.parallelFor(tokens, 8, routeTask);
            step.group(tokens);
            for (int e = 0; e < numExperts; e++) {
                if (step.tokensOf(e) > 0) {
                    tokensPerExpert.addAndGet(e, step.tokensOf(e));
                }
            }

            int rows = tokens * topK;
            x = ws.get(Workspace.Role.EXTRA2, rows * hidden);
            gate = ws.get(Workspace.Role.GATE, rows * inner);
            up = ws.get(Workspace.Role.UP, rows * inner);
            y = ws.get(Workspace.Role.EXTRA3, rows * hidden);
            pool.parallelFor(rows, 16, gatherTask);
            activePlacement = placement;
            if (activePlacement == null) {
                for (int e = 0; e < numExperts; e++) {
                    int n = step.tokensOf(e);
                    if (n > 0) {
                        runSplitAcrossPool(pool, experts[e], step.expertStart[e], n, x, gate, up, y);
                    }
                }
            } else {
                pool.parallelFor(activePlacement.groups(), 1, placedTask);
            }
            pool.parallelFor(tokens, 4, combineTask);
            if (shared != null) {
                shared.forward(pass, normed, x);
                VectorKernels.add(out, 0, x, 0, tokens * hidden);
            }
        } finally {
            this.ws = null;
            this.normed = this.logits = this.x = this.gate = this.up = this.y = this.out = null;
            this.activePlacement = null;
        }
    }

    /** Routing scores to each token's top experts and weights. */
    private void routeTokens(int start, int end, int worker) {
        int numExperts = experts.length;
        int topK = routing.topK();
        for (int t = start; t < end; t++) {
            routing.route(logits, t * numExperts, step.experts, step.weights, t * topK, ws.scratch(worker));
        }
    }

    /** Copies each routed (token, expert) pair's input into the expert's contiguous rows. */
    private void gatherRows(int start, int end, int worker) {
        for (int r = start; r < end; r++) {
            System.arraycopy(normed, step.rowToken[r] * hidden, x, r * hidden, hidden);
        }
    }

    /** Runs the expert slots of placement groups {@code [start, end)}, each group on one thread. */
    private void runPlacedGroups(int start, int end, int worker) {
        ExpertPlacement p = activePlacement;
        for (int g = start; g < end; g++) {
            for (int s = p.groupStart(g); s < p.groupStart(g + 1); s++) {
                int e = p.expertAt(s);
                int n = step.tokensOf(e);
                int from = n * p.replicaIndex(s) / p.replicas(e);
                int to = n * (p.replicaIndex(s) + 1) / p.replicas(e);
                if (to > from) {
                    runOnThisThread(experts[e], step.expertStart[e] + from, to - from, x, gate, up, y);
                }
            }
        }
    }

    /** Each token's output: its experts' rows, weighted, in expert order. */
    private void combineTokens(int start, int end, int worker) {
        int topK = routing.topK();
        for (int t = start; t < end; t++) {
            Arrays.fill(out, t * hidden, (t + 1) * hidden, 0f);
            for (int k = 0; k < topK; k++) {
                int i = t * topK + k;
                VectorKernels.addScaled(out, t * hidden, y, step.rowOf[i] * hidden, step.weights[i], hidden);
            }
        }
    }

    /** Rows {@code [row, row+n)} of the grouped buffers through {@code expert}, each GEMM split by rows over the pool. */
    private void runSplitAcrossPool(ComputePool pool, Expert expert, int row, int n, float[] x, float[] gate, float[] up, float[] y) {
        Gemm.multiply(pool, expert.gate(), x, row * hidden, n, gate, row * inner, inner);
        Gemm.multiply(pool, expert.up(), x, row * hidden, n, up, row * inner, inner);
        VectorKernels.siluMul(gate, up, row * inner, n * inner);
        Gemm.multiply(pool, expert.down(), gate, row * inner, n, y, row * hidden, hidden);
    }

    /** The same on the calling compute thread alone. */
    private void runOnThisThread(Expert expert, int row, int n, float[] x, float[] gate, float[] up, float[] y) {
        Gemm.multiplyOnThisThread(expert.gate(), x, row * hidden, n, gate, row * inner, inner);
        Gemm.multiplyOnThisThread(expert.up(), x, row * hidden, n, up, row * inner, inner);
        VectorKernels.siluMul(gate, up, row * inner, n * inner);
        Gemm.multiplyOnThisThread(expert.down(), gate, row * inner, n, y, row * hidden, hidden);
    }

    public int numExperts() {
        return experts.length;
    }

    public int topK() {
        return routing.topK();
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
