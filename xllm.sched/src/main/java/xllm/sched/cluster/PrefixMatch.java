package xllm.sched.cluster;

import java.util.function.LongUnaryOperator;
import xllm.kv.BlockHashes;

/**
 * How many leading full blocks of a prompt each cache holder has, from an index of block hash to holders
 * (one bit each): the workers' shared map or a router's mirror of the nodes' entries in etcd. The last
 * prompt token is never counted, as it must be computed to sample the first output token. Stateless.
 */
public final class PrefixMatch {
    private PrefixMatch() {
    }

    /**
     * @param holders the holders of the block under a chained hash, one bit per holder (0 when none)
     * @param count holders there can be, at most 64
     */
    public static int[] matchedBlocks(int[] prompt, int blockSize, int count, LongUnaryOperator holders) {
        int[] matched = new int[count];
        if (blockSize <= 0) {
            return matched;
        }
        int blocks = (prompt.length - 1) / blockSize;
        long key = BlockHashes.ROOT;
        for (int i = 0; i < blocks; i++) {
            key = BlockHashes.chain(key, prompt, i * blockSize, blockSize);
            long bits = holders.applyAsLong(key);
            boolean any = false;
            for (int h = 0; h < count; h++) {
                if (matched[h] == i && (bits >>> h & 1) != 0) {
                    matched[h]++;
                    any = true;
                }
            }
            if (!any) {
                break;
            }
        }
        return matched;
    }
}
