// Decode and prefill attention over the paged KV cache, for the layout of xllm.engine.kernel.GroupedKeyAttention:
// within one block of one layer, the keys of KV head h lie as [dim][slot] (one vector load holds a dimension
// of 16 positions), then the values as [slot][kvHead][dim], as f32 or f16 elements. One call attends up to four
// query heads of one token that share a KV head.

#include "simd.h"

// Sixteen elements of the cache as floats: f16 (converted) or f32.
ALWAYS_INLINE __m512 load16(const int f16, const uint8_t *p) {
    return f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)) : _mm512_loadu_ps((const float *)p);
}

// For each of H (1..4) query heads sharing KV head kv_head: out_h[0..head_dim) = softmax(scale * q_h . K[j]) . V[j]
// over positions j < context. The heads go together so that every key and value vector loaded serves all of them
// and their independent sums keep the FMA units busy; each head's arithmetic is the same whatever H is.
// kv: the arena, of f16 elements if F16 else floats; blocks: the sequence's block ids; block_stride / layer_offset:
// bytes from the arena to a block, and within a block to this layer; q and out: the heads one after another,
// head_dim floats each; scores: H rows of scores_stride floats, each at least context rounded up to whole blocks.
// block_size and head_dim are multiples of 16.
ALWAYS_INLINE void attend_heads(const int F16, const int H, const uint8_t *kv, const int32_t *blocks, int64_t block_stride,
                                int64_t layer_offset, int block_size, int context, int kv_dim, int head_dim, int kv_head,
                                const float *q, float scale, float *scores, int64_t scores_stride, float *out) {
    const int64_t e = F16 ? 2 : 4; // bytes per element
    const int64_t key_head = (int64_t)kv_head * head_dim * block_size * e;
    const int64_t key_bytes = (int64_t)head_dim * block_size * e;
    __m512 vmax[4];
    for (int h = 0; h < H; h++) vmax[h] = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < context; j += block_size) {
        const uint8_t *keys = kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset + key_head;
        // the cache is larger than the caches: fetch the next block's keys while this one is scored
        if (j + block_size < context) {
            const char *next = (const char *)(kv + (int64_t)blocks[j / block_size + 1] * block_stride + layer_offset + key_head);
            for (int64_t b = 0; b < key_bytes; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
        }
        for (int c = 0; c < block_size && j + c < context; c += 16) {
            __m512 a0[4], a1[4];
            for (int h = 0; h < H; h++) a0[h] = a1[h] = _mm512_setzero_ps();
            for (int d = 0; d + 2 <= head_dim; d += 2) {
                const __m512 k0 = load16(F16, keys + ((int64_t)d * block_size + c) * e);
                const __m512 k1 = load16(F16, keys + ((int64_t)(d + 1) * block_size + c) * e);
                for (int h = 0; h < H; h++) {
                    a0[h] = _mm512_fmadd_ps(k0, _mm512_set1_ps(q[h * head_dim + d]), a0[h]);
                    a1[h] = _mm512_fmadd_ps(k1, _mm512_set1_ps(q[h * head_dim + d + 1]), a1[h]);
                }
            }
            for (int h = 0; h < H; h++) {
                __m512 s = _mm512_mul_ps(_mm512_add_ps(a0[h], a1[h]), _mm512_set1_ps(scale));
                _mm512_storeu_ps(scores + h * scores_stride + j + c, s);
                // slots past the context are stale: keep them out of the max
                vmax[h] = _mm512_mask_max_ps(vmax[h], first_lanes(context - j - c), vmax[h], s);
            }
        }
    }
    float inv[4];
    for (int h = 0; h < H; h++) {
        float *row = scores + h * scores_stride;
        const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax[h]));
        __m512 vsum = _mm512_setzero_ps();
        for (int i = 0; i < context; i += 16) {
            __mmask16 m = first_lanes(context - i);
            __m512 x = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), max));
            x = _mm512_maskz_mov_ps(m, x);
            _mm512_mask_storeu_ps(row + i, m, x);
            vsum = _mm512_add_ps(vsum, x);
        }
        inv[h] = 1.0f / _mm512_reduce_add_ps(vsum);
    }
    const int64_t value_head = (int64_t)kv_dim * block_size * e + (int64_t)kv_head * head_dim * e;
    const int64_t slot_bytes = (int64_t)kv_dim * e;
    for (int d = 0; d < head_dim; d += 64) {
        const int width = head_dim - d < 64 ? head_dim - d : 64; // 16, 32, 48 or 64
        __m512 acc[4][4];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < 4; i++) acc[h][i] = _mm512_setzero_ps();
        for (int j = 0; j < context; j += block_size) {
            const uint8_t *values = kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset + value_head + d * e;
            const int in_block = context - j < block_size ? context - j : block_size;
            if (j + block_size < context) {
                const char *next = (const char *)(kv + (int64_t)blocks[j / block_size + 1] * block_stride + layer_offset + value_head + d * e);
                for (int s = 0; s < block_size; s++)
                    for (int b = 0; b < width * e; b += 64) _mm_prefetch(next + s * slot_bytes + b, _MM_HINT_T0);
            }
            for (int s = 0; s < in_block; s++) {
                const uint8_t *v = values + s * slot_bytes;
                const __m512 v0 = load16(F16, v);
                const __m512 v1 = width > 16 ? load16(F16, v + 16 * e) : v0;
                const __m512 v2 = width > 32 ? load16(F16, v + 32 * e) : v0;
                const __m512 v3 = width > 48 ? load16(F16, v + 48 * e) : v0;
                for (int h = 0; h < H; h++) {
                    const __m512 w = _mm512_set1_ps(scores[h * scores_stride + j + s] * inv[h]);
                    acc[h][0] = _mm512_fmadd_ps(v0, w, acc[h][0]);
                    if (width > 16) acc[h][1] = _mm512_fmadd_ps(v1, w, acc[h][1]);
                    if (width > 32) acc[h][2] = _mm512_fmadd_ps(v2, w, acc[h][2]);
                    if (width > 48) acc[h][3] = _mm512_fmadd_ps(v3, w, acc[h][3]);
                }
            }
        }
        for (int h = 0; h < H; h++) {
            float *o = out + h * head_dim + d;
            _mm512_storeu_ps(o, acc[h][0]);
            if (width > 16) _mm512_storeu_ps(o + 16, acc[h][1]);
            if (width > 32) _mm512_storeu_ps(o + 32, acc[h][2]);
            if (width > 48) _mm512_storeu_ps(o + 48, acc[h][3]);
        }
    }
}

// heads: 1 to 4 query heads of KV head kv_head, at q + q_offset and out + out_offset; f16: the cache holds f16
// elements rather than floats (see attend_heads).
void xllm_attend(const uint8_t *kv, int f16, const int32_t *blocks, int64_t block_stride, int64_t layer_offset, int block_size,
                 int context, int kv_dim, int head_dim, int kv_head, int heads, const float *q, int64_t q_offset, float scale,
                 float *scores, int64_t scores_stride, float *out, int64_t out_offset) {
    q += q_offset;
    out += out_offset;
#define ATTEND(F, H) attend_heads(F, H, kv, blocks, block_stride, layer_offset, block_size, context, kv_dim, head_dim, kv_head, \
                                  q, scale, scores, scores_stride, out)
#define HEADS(F)                      \
    switch (heads) {                  \
    case 1: ATTEND(F, 1); break;      \
    case 2: ATTEND(F, 2); break;      \
    case 3: ATTEND(F, 3); break;      \
    default: ATTEND(F, 4); break;     \
    }
    if (f16) {
        HEADS(1)
    } else {
        HEADS(0)
    }
#undef HEADS
#undef ATTEND
}
