package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import xllm.kv.BlockTable;
import xllm.kv.KvDtype;
import xllm.kv.PageArena;

/**
 * Attention over the paged cache with keys stored transposed (native kernel where it runs, else the Vector
 * API; an f16 cache only natively): against exact softmax-weighted sums of the stored (rounded) keys and
 * values, over blocks out of order and a context ending inside a block; and each head's output the same
 * whether it is attended alone or with the other heads of its KV head.
 */
class GroupedKeyAttentionTest {
    private static final int BLOCK_SIZE = 16;
    private static final int LAYERS = 2;

    @ParameterizedTest
    @CsvSource({"8,2,64,37,F32", "6,2,48,16,F32", "7,1,128,70,F32", "2,2,64,1,F32", "8,2,64,37,F16", "7,1,128,70,F16", "6,2,48,1,F16"})
    void matchesExactAttentionAloneAndGrouped(int heads, int kvHeads, int headDim, int context, KvDtype dtype) {
        assumeTrue(dtype == KvDtype.F32 || GroupedKeyAttention.supportsF16(BLOCK_SIZE, headDim), "an f16 cache needs the native kernel");
        SplittableRandom random = new SplittableRandom(heads * 1000L + headDim + context);
        int kvDim = kvHeads * headDim;
        int group = heads / kvHeads;
        int layer = 1;
        int[] blockOrder = {5, 2, 7, 0, 3, 6};
        try (PageArena arena = new PageArena(8, BLOCK_SIZE, LAYERS, 2 * kvDim, dtype)) {
            BlockTable table = new BlockTable();
            for (int b = 0; b < (context + BLOCK_SIZE - 1) / BLOCK_SIZE; b++) {
                table.append(blockOrder[b]);
            }
            float[][] keys = new float[context][kvDim];
            float[][] values = new float[context][kvDim];
            for (int p = 0; p < context; p++) {
                for (int i = 0; i < kvDim; i++) {
                    keys[p][i] = (float) random.nextGaussian();
                    values[p][i] = (float) random.nextGaussian();
                }
                GroupedKeyAttention.write(arena, layer, table.blockAt(p / BLOCK_SIZE), p % BLOCK_SIZE, keys[p], values[p], 0, kvHeads, headDim);
                if (dtype == KvDtype.F16) {
                    // what the cache holds, and so what exact attention is computed over
                    for (int i = 0; i < kvDim; i++) {
                        keys[p][i] = Float.float16ToFloat(Float.floatToFloat16(keys[p][i]));
                        values[p][i] = Float.float16ToFloat(Float.floatToFloat16(values[p][i]));
                    }
                }
            }
            float[] q = new float[heads * headDim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextGaussian() * 0.3f;
            }
            float scale = (float) (1 / Math.sqrt(headDim));
            float[] scores = new float[GroupedKeyAttention.scoresLength(GroupedKeyAttention.HEADS_PER_CALL, context, BLOCK_SIZE)];
            float[] grouped = new float[heads * headDim];
            float[] alone = new float[heads * headDim];
            for (int kv = 0; kv < kvHeads; kv++) {
                for (int first = kv * group; first < (kv + 1) * group; first += GroupedKeyAttention.HEADS_PER_CALL) {
                    int n = Math.min(GroupedKeyAttention.HEADS_PER_CALL, (kv + 1) * group - first);
                    GroupedKeyAttention.attend(arena, layer, table.blockIds(), context, q, first * headDim, kv, n, kvHeads, headDim, scale,
                            grouped, first * headDim, scores);
                }
                for (int h = kv * group; h < (kv + 1) * group; h++) {
                    GroupedKeyAttention.attend(arena, layer, table.blockIds(), context, q, h * headDim, kv, 1, kvHeads, headDim, scale,
                            alone, h * headDim, scores);
                }
            }
            assertArrayEquals(alone, grouped, "each head alone and with the others of its KV head");
            for (int h = 0; h < heads; h++) {
                double[] exact = exactAttention(q, h * headDim, keys, values, (h / group) * headDim, headDim, scale);
                for (int d = 0; d < headDim; d++) {
                    double error = Math.abs(grouped[h * headDim + d] - exact[d]);
                    assertTrue(error < 1e-5 * (1 + Math.abs(exact[d])), "head " + h + " dim " + d + ": " + grouped[h * headDim + d] + " vs " + exact[d]);
                }
            }
        }
    }

    private static double[] exactAttention(float[] q, int qOffset, float[][] keys, float[][] values, int headOffset, int headDim, float scale) {
        int context = keys.length;
        double[] logits = new double[context];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < context; p++) {
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
                dot += (double) q[qOffset + d] * keys[p][headOffset + d];
            }
            logits[p] = dot * scale;
            max = Math.max(max, logits[p]);
        }
        double sum = 0;
        for (int p = 0; p < context; p++) {
            logits[p] = Math.exp(logits[p] - max);
            sum += logits[p];
        }
        double[] out = new double[headDim];
        for (int p = 0; p < context; p++) {
            for (int d = 0; d < headDim; d++) {
                out[d] += logits[p] / sum * values[p][headOffset + d];
            }
        }
        return out;
    }
}
