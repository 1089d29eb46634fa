// Decode and prefill attention over the paged KV cache, for the layout of xllm.engine.kernel.GroupedKeyAttention:
// within one block of one layer, the keys of KV head h lie as [dim][slot] (one vector load holds a dimension
// of 16 positions), then the values as [slot][kvHead][dim]. One call attends one query head of one token.

#include "kernels.h"

// e^x per lane (Cephes' expf: range reduction by ln 2, a degree-6 polynomial, the exponent by vscalefps),
// within 2 ulp; inputs clamped to [-87.3, 88.3].
static inline __m512 exp_ps(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 first(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// out[0..head_dim) = softmax(scale * q . K[j]) . V[j] over positions j < context of KV head kv_head.
// kv: the arena; blocks: the sequence's block ids; block_stride / layer_offset: bytes from the arena to a
// block, and within a block to this layer; scores: scratch of context rounded up to whole blocks.
// block_size and head_dim are multiples of 16.
void xllm_attend(const uint8_t *kv, const int32_t *blocks, int64_t block_stride, int64_t layer_offset, int block_size,
                 int context, int kv_dim, int head_dim, int kv_head, const float *q, int64_t q_offset, float scale,
                 float *scores, float *out, int64_t out_offset) {
    q += q_offset;
    out += out_offset;
    const int64_t key_head = (int64_t)kv_head * head_dim * block_size * 4;
    __m512 vmax = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < context; j += block_size) {
        const uint8_t *base = kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset;
        const float *keys = (const float *)(base + key_head);
        for (int c = 0; c < block_size && j + c < context; c += 16) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0;
            int d = 0;
            for (; d + 2 <= head_dim; d += 2) {
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + (int64_t)d * block_size + c), _mm512_set1_ps(q[d]), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(keys + (int64_t)(d + 1) * block_size + c), _mm512_set1_ps(q[d + 1]), a1);
            }
            __m512 s = _mm512_mul_ps(_mm512_add_ps(a0, a1), _mm512_set1_ps(scale));
            _mm512_storeu_ps(scores + j + c, s);
            // slots past the context are stale: keep them out of the max
            vmax = _mm512_mask_max_ps(vmax, first(context - j - c), vmax, s);
        }
    }
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (int i = 0; i < context; i += 16) {
        __mmask16 m = first(context - i);
        __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, scores + i), max));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(scores + i, m, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    const float inv = 1.0f / _mm512_reduce_add_ps(vsum);
    const int64_t value_head = (int64_t)kv_dim * block_size * 4 + (int64_t)kv_head * head_dim * 4;
    for (int d = 0; d < head_dim; d += 64) {
        const int width = head_dim - d < 64 ? head_dim - d : 64; // 16, 32, 48 or 64
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < context; j += block_size) {
            const float *values = (const float *)(kv + (int64_t)blocks[j / block_size] * block_stride + layer_offset + value_head) + d;
            const int in_block = context - j < block_size ? context - j : block_size;
            for (int s = 0; s < in_block; s++) {
                const float *v = values + (int64_t)s * kv_dim;
                __m512 w = _mm512_set1_ps(scores[j + s] * inv);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(v), w, a0);
                if (width > 16) a1 = _mm512_fmadd_ps(_mm512_loadu_ps(v + 16), w, a1);
                if (width > 32) a2 = _mm512_fmadd_ps(_mm512_loadu_ps(v + 32), w, a2);
                if (width > 48) a3 = _mm512_fmadd_ps(_mm512_loadu_ps(v + 48), w, a3);
            }
        }
        _mm512_storeu_ps(out + d, a0);
        if (width > 16) _mm512_storeu_ps(out + d + 16, a1);
        if (width > 32) _mm512_storeu_ps(out + d + 32, a2);
        if (width > 48) _mm512_storeu_ps(out + d + 48, a3);
    }
}
