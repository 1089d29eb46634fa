package xllm.engine.model;

/** One pre-norm transformer block: {@code h = x + attn(norm(x)); y = h + ffn(norm(h))}. */
public record DecoderLayer(float[] attentionNorm, AttentionLayer attention, float[] feedForwardNorm, FeedForward feedForward) {
}
