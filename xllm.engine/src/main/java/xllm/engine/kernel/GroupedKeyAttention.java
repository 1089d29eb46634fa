package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import xllm.kv.KvDtype;
import xllm.kv.PageArena;

/**
 * Grouped-query attention over a paged cache whose blocks store keys transposed: within one block of one
 * layer, the keys of KV head {@code h} lie as {@code [dim][slot]} (so one vector load holds a dimension of
 * many positions), then the values as {@code [slot][kvHead][dim]}. Scoring a block is then a chain of
 * broadcast-FMAs over the head dimension with no per-position lane reduction, and each score's
 * arithmetic depends only on its own query and key. Any thread; the caller supplies a scores row of at
 * least the context length rounded up to whole blocks.
 */
public final class GroupedKeyAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private GroupedKeyAttention() {
    }

    /** Whether this layout serves blocks of {@code blockSize} slots: whole vectors of positions. */
    public static boolean supports(int blockSize) {
        return blockSize % S.length() == 0;
    }

    /**
     * Whether an {@link KvDtype#F16} cache can be attended in blocks of {@code blockSize} slots with heads of
     * {@code headDim}: only the native kernel reads f16.
     */
    public static boolean supportsF16(int blockSize, int headDim) {
        return supports(blockSize) && runsNatively(headDim);
    }

    /** Whether heads of {@code headDim} are attended by the native kernel (whole vectors of 16 dimensions). */
    private static boolean runsNatively(int headDim) {
        return NativeKernels.available() && headDim % 16 == 0;
    }

    /** Stores one token's keys and values ({@code kvHeads x headDim} each) into its slot, as the arena's dtype. */
    public static void write(PageArena arena, int layer, int block, int slot, float[] k, float[] v, int offset,
                             int kvHeads, int headDim) {
        MemorySegment kv = arena.memory();
        int blockSize = arena.blockSize();
        int kvDim = kvHeads * headDim;
        long base = arena.slotOffset(block, layer, 0);
        long values = base + (long) kvDim * blockSize * arena.dtype().bytes() + (long) slot * kvDim * arena.dtype().bytes();
        if (arena.dtype() == KvDtype.F16) {
            for (int i = 0; i < kvDim; i++) {
                kv.set(F16, base + ((long) i * blockSize + slot) * 2, Float.floatToFloat16(k[offset + i]));
                kv.set(F16, values + 2L * i, Float.floatToFloat16(v[offset + i]));
            }
            return;
        }
        for (int i = 0; i < kvDim; i++) {
            kv.set(F32, base + ((long) i * blockSize + slot) * Float.BYTES, k[offset + i]);
        }
        MemorySegment.copy(v, offset, kv, ValueLayout.JAVA_FLOAT, values, kvDim);
    }

    /** Query heads one {@link #attend} call takes at most. */
    public static final int HEADS_PER_CALL = NativeKernels.ATTEND_HEADS;

    /** Floats of scores scratch {@link #attend} needs for {@code heads} heads over {@code contextLength} positions. */
    public static int scoresLength(int heads, int contextLength, int blockSize) {
        return heads * scoresStride(contextLength, blockSize);
    }

    private static int scoresStride(int contextLength, int blockSize) {
        return (contextLength + blockSize - 1) / blockSize * blockSize;
    }

    /**
     * Attends {@code heads} (1 to {@link #HEADS_PER_CALL}) query heads sharing KV head {@code kvHead}, lying one
     * after another from {@code q[qOffset]}, to positions {@code [0, contextLength)}, writing their weighted values
     * one after another from {@code out[outOffset]}. The heads go together so that each key and value read from
     * the cache serves all of them; every head's result is the same as attending it alone.
     */
    public static void attend(PageArena arena, int layer, int[] blocks, int contextLength, float[] q, int qOffset,
                              int kvHead, int heads, int kvHeads, int headDim, float scale, float[] out, int outOffset,
                              float[] scores) {
        MemorySegment kv = arena.memory();
        int blockSize = arena.blockSize();
        int kvDim = kvHeads * headDim;
        if (runsNatively(headDim)) {
            long layerOffset = arena.slotOffset(0, layer, 0);
            NativeKernels.active().attend(kv, arena.dtype() == KvDtype.F16, blocks, arena.slotOffset(1, layer, 0) - layerOffset,
                    layerOffset, blockSize, contextLength, kvDim, headDim, kvHead, heads, q, qOffset, scale, scores,
                    scoresStride(contextLength, blockSize), out, outOffset);
            return;
        }
        if (arena.dtype() != KvDtype.F32) {
            throw new IllegalStateException("an " + arena.dtype() + " KV cache needs the native attention kernel: " + NativeKernels.description());
        }
        long keyHead = (long) kvHead * headDim * blockSize * Float.BYTES;
        for (int h = 0; h < heads; h++) {
            float max = scores(kv, arena, layer, blocks, contextLength, q, qOffset + h * headDim, keyHead, headDim, scale, scores);
            float sum = PagedAttention.expInPlace(scores, contextLength, max);
            weightedValues(kv, arena, layer, blocks, contextLength, kvHead * headDim, kvDim, headDim, 1f / sum, scores, out,
                    outOffset + h * headDim);
        }
    }

    // attend's parts are methods of their own: in one method the JIT stops inlining the vector operations
    // (they then run boxed, allocating), and the parts take no vector arguments, which would be boxed too

    /** {@code scores[j] = scale * q . K[j]} for {@code j < contextLength}; returns their maximum. */
    private static float scores(MemorySegment kv, PageArena arena, int layer, int[] blocks, int contextLength, float[] q,
                                int qOffset, long keyHead, int headDim, float scale, float[] scores) {
        int blockSize = arena.blockSize();
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < contextLength; j += blockSize) {
            long keys = arena.slotOffset(blocks[j / blockSize], layer, 0) + keyHead;
            for (int c = 0; c < blockSize && j + c < contextLength; c += S.length()) {
                long chunk = keys + (long) c * Float.BYTES;
                FloatVector acc = FloatVector.zero(S);
                for (int d = 0; d < headDim; d++) {
                    acc = FloatVector.fromMemorySegment(S, kv, chunk + (long) d * blockSize * Float.BYTES, LE)
                            .fma(FloatVector.broadcast(S, q[qOffset + d]), acc);
                }
                acc = acc.mul(scale);
                acc.intoArray(scores, j + c);
                // positions past the context hold stale slots: keep them out of the max
                int valid = contextLength - j - c;
                max = valid >= S.length() ? max.max(acc) : max.lanewise(VectorOperators.MAX, acc, S.indexInRange(0, valid));
            }
        }
        return max.reduceLanes(VectorOperators.MAX);
    }

    /** {@code out = sum_j scores[j] * inv * V[j]}, each output vector accumulated in a register. */
    private static void weightedValues(MemorySegment kv, PageArena arena, int layer, int[] blocks, int contextLength,
                                       int valueHeadOffset, int kvDim, int headDim, float inv, float[] scores, float[] out, int outOffset) {
        int blockSize = arena.blockSize();
        long valueHead = (long) valueHeadOffset * Float.BYTES;
        long valueStride = (long) kvDim * Float.BYTES;
        int d = 0;
        // four vectors of the output at a time held in registers over every position
        for (; d + 4 * S.length() <= headDim; d += 4 * S.length()) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < contextLength; j += blockSize) {
                long values = arena.slotOffset(blocks[j / blockSize], layer, 0)
                        + (long) kvDim * blockSize * Float.BYTES + valueHead + (long) d * Float.BYTES;
                int inBlock = Math.min(blockSize, contextLength - j);
                for (int s = 0; s < inBlock; s++) {
                    long at = values + s * valueStride;
                    FloatVector w = FloatVector.broadcast(S, scores[j + s] * inv);
                    a0 = FloatVector.fromMemorySegment(S, kv, at, LE).fma(w, a0);
                    a1 = FloatVector.fromMemorySegment(S, kv, at + S.vectorByteSize(), LE).fma(w, a1);
                    a2 = FloatVector.fromMemorySegment(S, kv, at + 2L * S.vectorByteSize(), LE).fma(w, a2);
                    a3 = FloatVector.fromMemorySegment(S, kv, at + 3L * S.vectorByteSize(), LE).fma(w, a3);
                }
            }
            a0.intoArray(out, outOffset + d);
            a1.intoArray(out, outOffset + d + S.length());
            a2.intoArray(out, outOffset + d + 2 * S.length());
            a3.intoArray(out, outOffset + d + 3 * S.length());
        }
        if (d < headDim) {
            java.util.Arrays.fill(out, outOffset + d, outOffset + headDim, 0f);
            for (int j = 0; j < contextLength; j += blockSize) {
                long values = arena.slotOffset(blocks[j / blockSize], layer, 0)
                        + (long) kvDim * blockSize * Float.BYTES + valueHead + (long) d * Float.BYTES;
                int inBlock = Math.min(blockSize, contextLength - j);
                for (int s = 0; s < inBlock; s++) {
                    PagedAttention.accumulate(out, outOffset + d, kv, values + s * valueStride, scores[j + s] * inv, headDim - d);
                }
            }
        }
    }
}
