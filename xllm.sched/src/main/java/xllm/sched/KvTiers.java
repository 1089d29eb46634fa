package xllm.sched;

import java.nio.file.Path;

/**
 * Where an engine's KV memory goes beyond the blocks in use.
 *
 * @param idleReleaseMillis after this long without work, the pages of free KV blocks and the step workspace
 *     go back to the system (0: never)
 * @param offloadDir the disk tier of the prefix cache ({@link xllm.kv.DiskBlockStore}); null for none
 * @param offloadBytes the most the disk tier may take
 */
public record KvTiers(long idleReleaseMillis, Path offloadDir, long offloadBytes) {
    /** Free pages back after a minute idle; no disk tier. */
    public static final KvTiers DEFAULT = new KvTiers(60_000, null, 0);

    public KvTiers {
        if (idleReleaseMillis < 0) {
            throw new IllegalArgumentException("--kv-idle-release-s must be 0 (never) or more, got " + idleReleaseMillis / 1000.0);
        }
        if (offloadDir != null && offloadBytes < 1) {
            throw new IllegalArgumentException("--kv-offload-gb must be positive, got " + offloadBytes / (double) (1L << 30));
        }
    }
}
