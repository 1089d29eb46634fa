package xllm.engine.model;

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
}
