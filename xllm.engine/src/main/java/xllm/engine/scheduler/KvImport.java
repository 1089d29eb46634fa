package xllm.engine.scheduler;

import xllm.kv.PageArena;

/**
 * A request's prompt KV computed by another instance, to copy in instead of recomputing: the source arena
 * (mapped from the other process; null when none could be mapped, or when the instance resumes its own
 * handoff and needs no copy), the block ids that hold its first {@code tokens} tokens, and who to tell what the
 * copy took. Blocks this instance already caches for the same tokens are not copied.
 */
public record KvImport(PageArena source, int[] blocks, int tokens, Listener listener) {
    /** Told on the engine thread once the import is done or abandoned. */
    public interface Listener {
        /**
         * @param copiedBytes bytes copied from the source, 0 when everything was cached here; -1 when the import
         *                    was abandoned (layout mismatch, no free blocks) and the prompt will be recomputed
         * @param reusedTokens prompt tokens found in this instance's own prefix cache
         */
        void imported(long copiedBytes, long nanos, int reusedTokens);
    }

    public KvImport {
        blocks = blocks.clone();
    }
}
