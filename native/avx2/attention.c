// Decode and prefill attention over the paged KV cache for AVX2: the symbol and semantics of avx512/attention.c
// (its layout notes hold here), on 8-float vectors: keys are scored 8 positions at a time, values accumulate
// 16 dimensions at a time.

#include "simd.h"

// Eight elements of the cache as floats: f16 (converted) or f32.
ALWAYS_INLINE __m256 load8(const int f16, const uint8_t *p) {
    return f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)) : _mm256_loadu_ps((const float *)p);
}

// As avx512/attention.c's attend_heads: for each of H (1..4) query heads sharing KV head kv_head,
// out_h = softmax(scale * q_h . K[j]) . V[j] over positions j < context; each head's arithmetic is the same
// whatever H is.
ALWAYS_INLINE void attend_heads(const int F16, const int H, const uint8_t *kv, const int32_t *blocks, int64_t block_stride,
                                int64_t layer_offset, int block_size, int context, int kv_dim, int head_dim, int kv_head,
                                const float *q, float scale, float *scores, int64_t scores_stride, float *out) {
    const int64_t e = F16 ? 2 : 4; // bytes per element
    const int64_t key_head = (int64_t)kv_head * head_dim * block_size * e;
    const int64_t key_bytes = (int64_t)head_dim * block_size * e;
    __m256 vmax[4];
    for (int h = 0; h < H; h++) vmax[h] = _mm256_set1_ps(-__builtin_inff());
    for (int j = 0; j < context; j += block_size) {
        const uint8_t *keys = kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset + key_head;
        if (j + block_size < context) {
            const char *next = (const char *)(kv + (int64_t)blocks[j / block_size + 1] * block_stride + layer_offset + key_head);
            for (int64_t b = 0; b < key_bytes; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
        }
        for (int c = 0; c < block_size && j + c < context; c += 8) {
            __m256 a0[4], a1[4];
            for (int h = 0; h < H; h++) a0[h] = a1[h] = _mm256_setzero_ps();
            for (int d = 0; d + 2 <= head_dim; d += 2) {
                const __m256 k0 = load8(F16, keys + ((int64_t)d * block_size + c) * e);
                const __m256 k1 = load8(F16, keys + ((int64_t)(d + 1) * block_size + c) * e);
                for (int h = 0; h < H; h++) {
                    a0[h] = _mm256_fmadd_ps(k0, _mm256_broadcast_ss(q + h * head_dim + d), a0[h]);
                    a1[h] = _mm256_fmadd_ps(k1, _mm256_broadcast_ss(q + h * head_dim + d + 1), a1[h]);
                }
            }
            // slots past the context are stale: keep them out of the max
            const __m256 valid = _mm256_castsi256_ps(first_lanes(context - j - c));
            for (int h = 0; h < H; h++) {
                __m256 s = _mm256_mul_ps(_mm256_add_ps(a0[h], a1[h]), _mm256_set1_ps(scale));
                _mm256_storeu_ps(scores + h * scores_stride + j + c, s);
                vmax[h] = _mm256_blendv_ps(vmax[h], _mm256_max_ps(vmax[h], s), valid);
            }
        }
    }
    float inv[4];
    for (int h = 0; h < H; h++) {
        float *row = scores + h * scores_stride;
        const __m256 max = _mm256_set1_ps(reduce_max(vmax[h]));
        __m256 vsum = _mm256_setzero_ps();
        for (int i = 0; i < context; i += 8) {
            const __m256i m = first_lanes(context - i);
            __m256 x = exp_ps(_mm256_sub_ps(_mm256_maskload_ps(row + i, m), max));
            x = _mm256_and_ps(x, _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(row + i, m, x);
            vsum = _mm256_add_ps(vsum, x);
        }
        inv[h] = 1.0f / reduce_add(vsum);
    }
    const int64_t value_head = (int64_t)kv_dim * block_size * e + (int64_t)kv_head * head_dim * e;
    const int64_t slot_bytes = (int64_t)kv_dim * e;
    for (int d = 0; d < head_dim; d += 16) {
        __m256 acc[4][2];
        for (int h = 0; h < H; h++) acc[h][0] = acc[h][1] = _mm256_setzero_ps();
        for (int j = 0; j < context; j += block_size) {
            const uint8_t *values = kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset + value_head + d * e;
            const int in_block = context - j < block_size ? context - j : block_size;
            if (j + block_size < context) {
                const char *next = (const char *)(kv + (int64_t)blocks[j / block_size + 1] * block_stride + layer_offset + value_head + d * e);
                for (int s = 0; s < block_size; s++) _mm_prefetch(next + s * slot_bytes, _MM_HINT_T0);
            }
            for (int s = 0; s < in_block; s++) {
                const uint8_t *v = values + s * slot_bytes;
                const __m256 v0 = load8(F16, v);
                const __m256 v1 = load8(F16, v + 8 * e);
                for (int h = 0; h < H; h++) {
                    const __m256 w = _mm256_set1_ps(scores[h * scores_stride + j + s] * inv[h]);
                    acc[h][0] = _mm256_fmadd_ps(v0, w, acc[h][0]);
                    acc[h][1] = _mm256_fmadd_ps(v1, w, acc[h][1]);
                }
            }
        }
        for (int h = 0; h < H; h++) {
            float *o = out + h * head_dim + d;
            _mm256_storeu_ps(o, acc[h][0]);
            _mm256_storeu_ps(o + 8, acc[h][1]);
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
