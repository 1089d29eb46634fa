package xllm.engine.model;

import java.util.Arrays;
import xllm.engine.kernel.Gemm;
import xllm.engine.kernel.VectorKernels;
import xllm.engine.kernel.WeightMatrix;

/**
 * One multi-token prediction module of DeepSeek-V3 ({@code model.layers.<num_hidden_layers + i>.*}):
 * it predicts one token further by combining the main model's last hidden state ({@code hiddenNorm})
 * with the embedding of the next token ({@code embeddingNorm}) through {@code combine} ({@code eh_proj},
 * {@code hidden x 2*hidden}), one more decoder layer, and its own norm and head. Kept for speculative
 * decoding; immutable.
 */
public record MtpHead(WeightMatrix embedding, float[] embeddingNorm, float[] hiddenNorm, WeightMatrix combine,
                      DecoderLayer layer, float[] headNorm, WeightMatrix head) {

    /**
     * Runs the module over {@code pass.batch()}. Batch token {@code t} at position {@code i} is the token
     * {@code t_{i+1}} paired with the hidden state {@code h_i} at {@code previous[t * hidden]}: the main model's
     * last-layer output at position {@code i} (before its final norm), or this module's own output when it chains.
     * {@code x = eh_proj([enorm(embed(t_{i+1})); hnorm(h_i)])} goes through the decoder layer, whose cache is layer 0
     * of {@code pass.kv()}. For the tokens that sample, writes the layer's output ({@code numSampled x hidden}, what
     * chains) to {@code sampledHidden} and the logits of {@code t_{i+2}} to {@code logits}. As vLLM does, the
     * embedding at position 0 is zeroed. Uses buffers HIDDEN, NORMED, OUT and LOGITS_INPUT, and the layer's own.
     */
    public void forward(ForwardPass pass, float eps, float[] previous, float[] sampledHidden, float[] logits) {
        StepBatch batch = pass.batch();
        Workspace ws = pass.workspace();
        int tokens = batch.numTokens();
        int hidden = hiddenNorm.length;
        float[] joined = ws.get(Workspace.Role.NORMED, tokens * 2 * hidden);
        for (int t = 0; t < tokens; t++) {
            int at = t * 2 * hidden;
            if (batch.position(t) == 0) {
                Arrays.fill(joined, at, at + hidden, 0f);
            } else {
                embedding.copyRow(batch.token(t), joined, at);
                VectorKernels.rmsNorm(joined, at, embeddingNorm, eps, joined, at, hidden);
            }
            VectorKernels.rmsNorm(previous, t * hidden, hiddenNorm, eps, joined, at + hidden, hidden);
        }
        float[] x = ws.get(Workspace.Role.HIDDEN, tokens * hidden);
        Gemm.multiply(pass.pool(), combine, joined, tokens, x);
        layer.forward(pass, 0, eps, x, ws.get(Workspace.Role.NORMED, tokens * hidden), ws.get(Workspace.Role.OUT, tokens * hidden));
        int sampled = batch.numSampled();
        if (sampled == 0) {
            return;
        }
        float[] normed = ws.get(Workspace.Role.LOGITS_INPUT, sampled * hidden);
        for (int row = 0; row < sampled; row++) {
            int from = batch.sampledTokenIndex(row) * hidden;
            System.arraycopy(x, from, sampledHidden, row * hidden, hidden);
            VectorKernels.rmsNorm(x, from, headNorm, eps, normed, row * hidden, hidden);
        }
        Gemm.multiply(pass.pool(), head, normed, sampled, logits);
    }
}
