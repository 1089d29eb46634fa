package xllm.kv;

/**
 * The prefix-cache key of a full block: a hash chain over the parent block's key and this block's token
 * ids, so equal keys mean equal whole prefixes (the cache also compares the tokens on a hit).
 */
public final class BlockHashes {
    /** The parent key of a sequence's first block. */
    public static final long ROOT = 0x2545F4914F6CDD1DL;

    private BlockHashes() {
    }

    /** Key of the block holding {@code tokens[from .. from+count)} after a block keyed {@code parent}. */
    public static long chain(long parent, int[] tokens, int from, int count) {
        long h = mix(parent ^ 0x9E3779B97F4A7C15L);
        for (int i = 0; i < count; i++) {
            h = mix(h ^ (tokens[from + i] & 0xFFFFFFFFL) * 0xC2B2AE3D27D4EB4FL);
        }
        h = mix(h ^ count);
        return h == 0 ? 1 : h; // 0 marks "no hash" in the allocator
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
