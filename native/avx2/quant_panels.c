// Q8_0 and Q4_0 weights against activations quantized to int8 blocks, for AVX2 (no vpdpbusd): the symbols and
// semantics of avx512/quant_panels.c, with panels of 8 rows (panels.h: a 32-bit lane per row in a 256-bit
// vector), Q8_0 weights kept signed, and each panel's scales after its weights (so the weight vectors stay
// 32-byte aligned).
//
// vpmaddubsw multiplies unsigned by signed bytes and adds pairs into int16 with saturation, so the kernels keep
// every pair sum and every int16 sum within range, and each lane's block sum stays exact:
//  - Q4_0: nibbles 0..15 x int8 activations: a pair is within [-3840, 3810], and the 8 products of a block
//    (4 weight vectors x low and high nibbles) add up in int16 within [-30720, 30480] before one vpmaddwd;
//  - Q8_0: |w| x (x with w's sign) (as llama.cpp): a pair is at most 2 * 128 * 127 = 32512; each goes to int32
//    by vpmaddwd.
// The -8 offset of Q4_0's nibbles comes from the activations' precomputed -8 * sum. Every (row, token) result
// takes the same operations whatever tile it falls in, so a token's logits do not depend on its batch.

#include "simd.h"
#include "../panels.h"

#define PANEL 8
#define Q8_WEIGHTS 256 // per panel and block: 8 vectors of 32 bytes
#define Q4_WEIGHTS 128 // 4 vectors
// packed activations per block: 32 int8, -8 * sum (the Q4_0 offset), pad, fp16-rounded scale, pad (as avx512/)
#define PACKED_BLOCK 48

int64_t xllm_q8_packed_bytes(int tokens, int cols) { return (int64_t)tokens * (cols / QK) * PACKED_BLOCK; }

int64_t xllm_panel_bytes(int q4, int rows, int cols) { return panels_bytes(q4, PANEL, rows, cols); }

// Rows [row_start, row_end) of a GGUF Q8_0 / Q4_0 matrix into panels of 8 rows; row_start is a multiple of 8.
void xllm_repack(int q4, const uint8_t *src, int64_t row_bytes, int rows, int cols, int row_start, int row_end, uint8_t *dst) {
    repack_panels(q4, PANEL, 0, 1, src, row_bytes, rows, cols, row_start, row_end, dst);
}

// Activations quantized per 32-element block to int8 (round to nearest even) with the scale rounded to
// fp16, as llama.cpp's q8_0 (and avx512/quant_panels.c, to the bit).
void xllm_pack_q8(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, uint8_t *out) {
    x += x_offset;
    const int blocks = cols / QK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        uint8_t *o = out + (int64_t)t * blocks * PACKED_BLOCK;
        for (int b = 0; b < blocks; b++, o += PACKED_BLOCK) {
            __m256 v[4];
            for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(xt + b * QK + 8 * i);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
            const float amax = reduce_max(m);
            float d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, 0));
            const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
            __m256i q[4];
            for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
            __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
            const int32_t sum = _mm_cvtsi128_si32(s4);
            // int32 -> int8 (saturating, as vpmovsdb) in element order
            __m256i b16 = _mm256_packs_epi32(q[0], q[1]);
            __m256i b16b = _mm256_packs_epi32(q[2], q[3]);
            __m256i b8 = _mm256_packs_epi16(b16, b16b);
            b8 = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)o, b8);
            int32_t c8 = -8 * sum, c128 = -128 * sum;
            memcpy(o + 32, &c8, 4);
            memcpy(o + 36, &c128, 4);
            memcpy(o + 40, &d, 4);
            memset(o + 44, 0, 4);
        }
    }
}

static inline __m256i broadcast32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static inline __m256 broadcastf(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return _mm256_set1_ps(v);
}

// Writes the rows of panel pi that lie in [row_start, row_end) for one token.
ALWAYS_INLINE void store_panel(__m256 v, float *out, int pi, int row_start, int row_end) {
    const int r0 = pi * PANEL;
    if (r0 >= row_start && r0 + PANEL <= row_end) {
        _mm256_storeu_ps(out + r0, v);
        return;
    }
    const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(r0), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i in = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(row_start), lane),
                                           _mm256_cmpgt_epi32(_mm256_set1_epi32(row_end), lane));
    _mm256_maskstore_ps(out + r0, in, v);
}

// P panels (8 rows each, from panel pi) x T tokens (from t). Per block, each weight vector is loaded once for
// all T tokens; with prefetch, the same block of the next P panels is fetched meanwhile.
ALWAYS_INLINE void q4_tile(const int P, const int T, const uint8_t *panels, int blocks, const uint8_t *xp, int pi, int t,
                           float *out, int64_t out_stride, int row_start, int row_end, int prefetch) {
    const int64_t panel_bytes = (int64_t)blocks * (Q4_WEIGHTS + 2 * PANEL);
    const int64_t x_stride = (int64_t)blocks * PACKED_BLOCK;
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4][4];
    for (int p = 0; p < P; p++)
        for (int j = 0; j < T; j++) acc[p][j] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        __m256i sums[4][4];
        for (int p = 0; p < P; p++)
            for (int j = 0; j < T; j++) sums[p][j] = _mm256_setzero_si256();
        for (int m = 0; m < 4; m++) {
            __m256i lo[4], hi[4];
            for (int p = 0; p < P; p++) {
                const uint8_t *wb = panels + (pi + p) * panel_bytes + (int64_t)b * Q4_WEIGHTS;
                if (prefetch && (m & 1) == 0) _mm_prefetch((const char *)(wb + P * panel_bytes + 32 * m), _MM_HINT_T0);
                const __m256i v = _mm256_loadu_si256((const __m256i *)(wb + 32 * m));
                lo[p] = _mm256_and_si256(v, low);
                hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            }
            for (int j = 0; j < T; j++) {
                const uint8_t *xb = xp + (int64_t)(t + j) * x_stride + (int64_t)b * PACKED_BLOCK;
                const __m256i xlo = broadcast32(xb + 4 * m), xhi = broadcast32(xb + 16 + 4 * m);
                for (int p = 0; p < P; p++)
                    sums[p][j] = _mm256_add_epi16(sums[p][j], _mm256_add_epi16(_mm256_maddubs_epi16(lo[p], xlo), _mm256_maddubs_epi16(hi[p], xhi)));
            }
        }
        for (int p = 0; p < P; p++) {
            const uint8_t *scales = panels + (pi + p) * panel_bytes + (int64_t)blocks * Q4_WEIGHTS + (int64_t)b * 2 * PANEL;
            if (prefetch && (b & 3) == 0) _mm_prefetch((const char *)(scales + P * panel_bytes), _MM_HINT_T0);
            const __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)scales));
            for (int j = 0; j < T; j++) {
                const uint8_t *xb = xp + (int64_t)(t + j) * x_stride + (int64_t)b * PACKED_BLOCK;
                const __m256i dot = _mm256_add_epi32(_mm256_madd_epi16(sums[p][j], ones), broadcast32(xb + 32));
                acc[p][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(ws, broadcastf(xb + 40)), acc[p][j]);
            }
        }
    }
    for (int p = 0; p < P; p++)
        for (int j = 0; j < T; j++) store_panel(acc[p][j], out + (int64_t)(t + j) * out_stride, pi + p, row_start, row_end);
}

ALWAYS_INLINE void q8_tile(const int P, const int T, const uint8_t *panels, int blocks, const uint8_t *xp, int pi, int t,
                           float *out, int64_t out_stride, int row_start, int row_end, int prefetch) {
    const int64_t panel_bytes = (int64_t)blocks * (Q8_WEIGHTS + 2 * PANEL);
    const int64_t x_stride = (int64_t)blocks * PACKED_BLOCK;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4][4];
    for (int p = 0; p < P; p++)
        for (int j = 0; j < T; j++) acc[p][j] = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        __m256i sums[4][4];
        for (int p = 0; p < P; p++)
            for (int j = 0; j < T; j++) sums[p][j] = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            __m256i w[4], aw[4];
            for (int p = 0; p < P; p++) {
                const uint8_t *wb = panels + (pi + p) * panel_bytes + (int64_t)b * Q8_WEIGHTS;
                if (prefetch && (g & 1) == 0) _mm_prefetch((const char *)(wb + P * panel_bytes + 32 * g), _MM_HINT_T0);
                w[p] = _mm256_loadu_si256((const __m256i *)(wb + 32 * g));
                aw[p] = _mm256_abs_epi8(w[p]);
            }
            for (int j = 0; j < T; j++) {
                const __m256i x = broadcast32(xp + (int64_t)(t + j) * x_stride + (int64_t)b * PACKED_BLOCK + 4 * g);
                for (int p = 0; p < P; p++)
                    sums[p][j] = _mm256_add_epi32(sums[p][j], _mm256_madd_epi16(_mm256_maddubs_epi16(aw[p], _mm256_sign_epi8(x, w[p])), ones));
            }
        }
        for (int p = 0; p < P; p++) {
            const uint8_t *scales = panels + (pi + p) * panel_bytes + (int64_t)blocks * Q8_WEIGHTS + (int64_t)b * 2 * PANEL;
            if (prefetch && (b & 3) == 0) _mm_prefetch((const char *)(scales + P * panel_bytes), _MM_HINT_T0);
            const __m256 ws = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)scales));
            for (int j = 0; j < T; j++) {
                const uint8_t *xb = xp + (int64_t)(t + j) * x_stride + (int64_t)b * PACKED_BLOCK;
                acc[p][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[p][j]), _mm256_mul_ps(ws, broadcastf(xb + 40)), acc[p][j]);
            }
        }
    }
    for (int p = 0; p < P; p++)
        for (int j = 0; j < T; j++) store_panel(acc[p][j], out + (int64_t)(t + j) * out_stride, pi + p, row_start, row_end);
}

#define PREFILL_TOKENS 4

ALWAYS_INLINE void panel_gemm(const int q4, const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out,
                              int64_t out_stride, int row_start, int row_end) {
#define TILE(P, T, pi, t)                                                                                                     \
    do {                                                                                                                      \
        if (q4) q4_tile(P, T, panels, blocks, xp, pi, t, out, out_stride, row_start, row_end, prefetch);                      \
        else q8_tile(P, T, panels, blocks, xp, pi, t, out, out_stride, row_start, row_end, prefetch);                        \
    } while (0)
    const int blocks = cols / QK;
    const int first = row_start / PANEL, last = (row_end + PANEL - 1) / PANEL;
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS;
    if (tokens == 1) {
        int pi = first;
        if (xllm_decode_panels >= 4)
            for (; pi + 4 <= last; pi += 4) TILE(4, 1, pi, 0);
        if (xllm_decode_panels >= 2)
            for (; pi + 2 <= last; pi += 2) TILE(2, 1, pi, 0);
        for (; pi < last; pi++) TILE(1, 1, pi, 0);
        return;
    }
    const int tb = token_block((int64_t)blocks * PACKED_BLOCK);
    for (int t0 = 0; t0 < tokens; t0 += tb) {
        const int t1 = t0 + tb < tokens ? t0 + tb : tokens;
        for (int pi = first; pi < last; pi++) {
            int t = t0;
            for (; t + PREFILL_TOKENS <= t1; t += PREFILL_TOKENS) TILE(1, PREFILL_TOKENS, pi, t);
            for (; t < t1; t++) TILE(1, 1, pi, t);
        }
    }
#undef TILE
}

void xllm_q4_gemm(const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out, int64_t out_offset,
                  int64_t out_stride, int row_start, int row_end) {
    panel_gemm(1, panels, cols, xp, tokens, out + out_offset, out_stride, row_start, row_end);
}

void xllm_q8_gemm(const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out, int64_t out_offset,
                  int64_t out_stride, int row_start, int row_end) {
    panel_gemm(0, panels, cols, xp, tokens, out + out_offset, out_stride, row_start, row_end);
}
