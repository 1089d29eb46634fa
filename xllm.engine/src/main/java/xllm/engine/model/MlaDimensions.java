package xllm.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import xllm.kv.PageArena;

/**
 * The shape of DeepSeek's multi-head latent attention, from {@code config.json}: queries through a
 * low-rank bottleneck ({@code qLoraRank}, 0 for a plain {@code q_proj}), keys and values compressed into
 * a {@code kvLoraRank} latent, and a decoupled rotary part of {@code qkRopeHeadDim} per head.
 */
public record MlaDimensions(int numHeads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim, int vHeadDim) {

    /** KV cache bytes one token takes across all layers: the latent cache MLA keeps, and what caching full keys and values would take. */
    public record KvBytes(long latentCache, long fullAttentionCache) {
    }

    public static MlaDimensions of(ModelConfig c) {
        JsonNode q = c.raw().get("q_lora_rank");
        return new MlaDimensions(c.numHeads(), q == null || q.isNull() ? 0 : ModelLoader.positiveField(c, "q_lora_rank"),
                ModelLoader.positiveField(c, "kv_lora_rank"), ModelLoader.positiveField(c, "qk_nope_head_dim"),
                ModelLoader.positiveField(c, "qk_rope_head_dim"), ModelLoader.positiveField(c, "v_head_dim"));
    }

    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** What one token's slot holds: the normalized latent, then the rotated shared rope key. */
    public int latentFloatsPerSlot() {
        return kvLoraRank + qkRopeHeadDim;
    }

    /** What a slot would hold if every head's key and value were cached, as standard attention does. */
    public int fullAttentionFloatsPerSlot() {
        return numHeads * (qkHeadDim() + vHeadDim);
    }

    public KvBytes kvBytesPerToken(int numLayers) {
        return new KvBytes(PageArena.bytesPerToken(numLayers, latentFloatsPerSlot()),
                PageArena.bytesPerToken(numLayers, fullAttentionFloatsPerSlot()));
    }
}
