package xllm.engine.scheduler;

/**
 * Where a prefill-only request goes after its first token: instead of decoding on, the instance keeps the
 * prompt's KV blocks and says which they are, so that a decode instance can copy them
 * ({@link KvImport}); the blocks stay held until {@link EngineCore#releaseHandoff} (or a timeout).
 * Called on the engine thread.
 */
public interface KvHandoff {
    /** @param blocks the block ids holding the first {@code tokens} tokens' KV, in order; the caller's copy */
    void handedOff(int[] blocks, int tokens);
}
