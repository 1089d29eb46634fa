package xllm.engine.moe;

import xllm.engine.kernel.WeightMatrix;

/** One routed expert: a SwiGLU MLP {@code down(silu(gate(x)) * up(x))}. Immutable. */
public record Expert(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    public Expert {
        if (up.rows() != gate.rows() || down.cols() != gate.rows() || up.cols() != gate.cols() || down.rows() != gate.cols()) {
            throw new IllegalArgumentException("expert projections do not fit: gate " + gate.rows() + "x" + gate.cols()
                    + ", up " + up.rows() + "x" + up.cols() + ", down " + down.rows() + "x" + down.cols());
        }
    }

    public int hidden() {
        return gate.cols();
    }

    public int inner() {
        return gate.rows();
    }
}
