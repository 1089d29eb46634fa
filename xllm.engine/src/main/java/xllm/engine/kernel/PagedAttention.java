package xllm.engine.kernel;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import xllm.kv.PageArena;

/**
 * Scaled dot-product attention of one query head over the keys and values a sequence keeps in the paged
 * KV arena: for standard attention a slot stores the keys of all KV heads, then their values; latent
 * attention scores against its whole slot and averages the latent part. Any thread; the caller supplies
 * a scratch row for the scores.
 */
public final class PagedAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private PagedAttention() {
    }

    /**
     * Attends query {@code q[qOffset .. +headDim)} to positions {@code [0, contextLength)} of KV head
     * {@code kvHead}, writing the weighted values to {@code out[outOffset .. +headDim)}.
     */
    public static void attend(PageArena arena, int layer, int[] blocks, int contextLength,
                              float[] q, int qOffset, int kvHead, int numKvHeads, int headDim, float scale,
                              float[] out, int outOffset, float[] scores) {
        attend(arena, layer, blocks, contextLength, q, qOffset, kvHead * headDim, headDim,
                (numKvHeads + kvHead) * headDim, headDim, scale, out, outOffset, scores);
    }

    /**
     * The general form: the key is {@code keyDim} floats at {@code keyOffset} of each slot, the value
     * {@code valueDim} floats at {@code valueOffset}; they may overlap, as when latent attention scores
     * against the whole slot and averages its latent part.
     */
    public static void attend(PageArena arena, int layer, int[] blocks, int contextLength,
                              float[] q, int qOffset, int keyOffset, int keyDim, int valueOffset, int valueDim,
                              float scale, float[] out, int outOffset, float[] scores) {
        MemorySegment kv = arena.memory();
        int blockSize = arena.blockSize();
        long keyShift = (long) keyOffset * Float.BYTES;
        long valueShift = (long) valueOffset * Float.BYTES;
        long slotBytes = (long) arena.floatsPerSlot() * Float.BYTES;

        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < contextLength; j += blockSize) {
            long base = arena.slotOffset(blocks[j / blockSize], layer, 0) + keyShift;
            int inBlock = Math.min(blockSize, contextLength - j);
            for (int s = 0; s < inBlock; s++) {
                float score = dot(q, qOffset, kv, base + s * slotBytes, keyDim) * scale;
                scores[j + s] = score;
                max = Math.max(max, score);
            }
        }
        float sum = expInPlace(scores, contextLength, max);
        float inv = 1f / sum;
        java.util.Arrays.fill(out, outOffset, outOffset + valueDim, 0f);
        for (int j = 0; j < contextLength; j += blockSize) {
            long base = arena.slotOffset(blocks[j / blockSize], layer, 0) + valueShift;
            int inBlock = Math.min(blockSize, contextLength - j);
            for (int s = 0; s < inBlock; s++) {
                accumulate(out, outOffset, kv, base + s * slotBytes, scores[j + s] * inv, valueDim);
            }
        }
    }

    /**
     * {@code x[i] = exp(x[i] - max)} for {@code i < n}, vectorized; returns the sum. The sum is a second pass
     * of its own: with the exponential's polynomial in the same method the JIT stops inlining the lane sum.
     */
    static float expInPlace(float[] x, int n, float max) {
        int j = 0;
        for (int bound = S.loopBound(n); j < bound; j += S.length()) {
            VectorKernels.exp(FloatVector.fromArray(S, x, j).sub(max)).intoArray(x, j);
        }
        for (; j < n; j++) {
            x[j] = VectorKernels.exp(x[j] - max);
        }
        return VectorKernels.sum(x, 0, n);
    }

    static float dot(float[] q, int qOffset, MemorySegment kv, long offset, int n) {
        FloatVector acc = FloatVector.zero(S);
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            acc = FloatVector.fromMemorySegment(S, kv, offset + (long) k * Float.BYTES, LE)
                    .fma(FloatVector.fromArray(S, q, qOffset + k), acc);
        }
        float sum = VectorKernels.sum(acc);
        for (; k < n; k++) {
            sum += q[qOffset + k] * kv.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + (long) k * Float.BYTES);
        }
        return sum;
    }

    static void accumulate(float[] out, int outOffset, MemorySegment kv, long offset, float weight, int n) {
        int k = 0;
        int bound = S.loopBound(n);
        for (; k < bound; k += S.length()) {
            FloatVector.fromMemorySegment(S, kv, offset + (long) k * Float.BYTES, LE)
                    .fma(FloatVector.broadcast(S, weight), FloatVector.fromArray(S, out, outOffset + k))
                    .intoArray(out, outOffset + k);
        }
        for (; k < n; k++) {
            out[outOffset + k] += weight * kv.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + (long) k * Float.BYTES);
        }
    }
}
