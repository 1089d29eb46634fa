package xllm.engine.model;

import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;

/** The SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}. Uses buffers GATE and UP. */
public final class DenseFeedForward implements FeedForward {
    private final WeightMatrix gate;
    private final WeightMatrix up;
    private final WeightMatrix down;

    public DenseFeedForward(WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
        this.gate = gate;
        this.up = up;
        this.down = down;
    }

    @Override
    public void forward(ForwardPass pass, float[] normed, float[] out) {
        int tokens = pass.batch().numTokens();
        int inner = gate.rows();
        float[] g = pass.workspace().get(Workspace.Role.GATE, tokens * inner);
        float[] u = pass.workspace().get(Workspace.Role.UP, tokens * inner);
        Gemm.multiply(pass.pool(), normed, tokens, gate, g, up, u);
        VectorKernels.siluMul(g, u, tokens * inner);
        Gemm.multiply(pass.pool(), down, g, tokens, out);
    }
}
