// Q8_0 and Q4_0 weights against activations quantized to int8 blocks, with AVX-512 VNNI.
//
// At load the GGUF blocks are repacked into panels of 16 rows (panels.h; the last panel padded with zero rows):
// per panel and 32-element block, the 16 rows' fp16 scales (32 bytes), then the weights as unsigned bytes
// arranged so that one vpdpbusd multiplies 4 consecutive elements of all 16 rows at once (row i in 32-bit
// lane i) against 4 activations broadcast to every lane:
//  - Q8_0: 8 vectors of 64 bytes; byte 4i+c of vector g is w[i][4g+c] + 128;
//  - Q4_0: 4 vectors; byte 4i+c of vector m holds w[i][4m+c] + 8 in its low nibble and w[i][16+4m+c] + 8
//    in its high nibble (the nibbles as GGUF stores them).
// Each lane sums a whole block in int32, exactly; the float work (convert, scale, accumulate) is then one
// vector per 16 rows and block, where row-major kernels spend it per row. Every (row, token) result takes
// the same operations whatever tile it falls in, so a token's logits do not depend on its batch.

#include "simd.h"
#include "../panels.h"

#define PANEL 16
#define Q8_PANEL_BLOCK (32 + 512)
#define Q4_PANEL_BLOCK (32 + 256)
// packed activations per block: 32 int8, -8 * sum, -128 * sum (the Q4_0 and Q8_0 offsets), fp16-rounded scale, pad
#define PACKED_BLOCK 48

int64_t xllm_q8_packed_bytes(int tokens, int cols) { return (int64_t)tokens * (cols / QK) * PACKED_BLOCK; }

int64_t xllm_panel_bytes(int q4, int rows, int cols) { return panels_bytes(q4, PANEL, rows, cols); }

// Rows [row_start, row_end) of a GGUF Q8_0 / Q4_0 matrix into panels (panels.h: 16 rows, Q8_0 unsigned, scales
// inline); row_start is a multiple of 16.
void xllm_repack(int q4, const uint8_t *src, int64_t row_bytes, int rows, int cols, int row_start, int row_end, uint8_t *dst) {
    repack_panels(q4, PANEL, 0x80, 0, src, row_bytes, rows, cols, row_start, row_end, dst);
}

// Activations quantized per 32-element block to int8 (round to nearest even) with the scale rounded to
// fp16, as llama.cpp's q8_0: the same products as its kernels.
void xllm_pack_q8(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, uint8_t *out) {
    x += x_offset;
    const int blocks = cols / QK;
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        uint8_t *o = out + (int64_t)t * blocks * PACKED_BLOCK;
        for (int b = 0; b < blocks; b++, o += PACKED_BLOCK) {
            __m512 v0 = _mm512_loadu_ps(xt + b * QK);
            __m512 v1 = _mm512_loadu_ps(xt + b * QK + 16);
            float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            float d = _cvtsh_ss(_cvtss_sh(amax / 127.0f, 0));
            __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
            __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));
            __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
            int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
            _mm_storeu_si128((__m128i *)o, _mm512_cvtsepi32_epi8(q0));
            _mm_storeu_si128((__m128i *)(o + 16), _mm512_cvtsepi32_epi8(q1));
            int32_t c8 = -8 * sum, c128 = -128 * sum;
            memcpy(o + 32, &c8, 4);
            memcpy(o + 36, &c128, 4);
            memcpy(o + 40, &d, 4);
            memset(o + 44, 0, 4);
        }
    }
}

static inline __m512i broadcast32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __m512 broadcastf(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return _mm512_set1_ps(v);
}

// P panels (16 rows each, starting at panel index pi) x T tokens (from t): per block, the panels' weight
// vectors are loaded (and Q4_0's nibbles split) once and used for every token. With prefetch, the same block
// of the next P panels is fetched meanwhile (see PREFETCH_MAX_TOKENS).
ALWAYS_INLINE void panel_tile(const int q4, const int P, const int T, const uint8_t *panels, int blocks, const uint8_t *xp,
                              int pi, int t, float *out, int64_t out_stride, int row_start, int row_end, int prefetch) {
    const int panel_block = q4 ? Q4_PANEL_BLOCK : Q8_PANEL_BLOCK;
    const int64_t x_stride = (int64_t)blocks * PACKED_BLOCK;
    __m512 acc[2][8];
    for (int p = 0; p < P; p++)
        for (int j = 0; j < T; j++) acc[p][j] = _mm512_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        __m512i wv[2][8];
        __m512 ws[2];
        for (int p = 0; p < P; p++) {
            const uint8_t *pb = panels + ((int64_t)(pi + p) * blocks + b) * panel_block;
            if (prefetch) {
                const char *next = (const char *)(pb + (int64_t)P * blocks * panel_block);
                for (int o = 0; o < panel_block; o += 64) _mm_prefetch(next + o, _MM_HINT_T0);
            }
            ws[p] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)pb));
            if (q4) {
                const __m512i low = _mm512_set1_epi8(0x0F);
                for (int m = 0; m < 4; m++) {
                    __m512i v = _mm512_loadu_si512(pb + 32 + 64 * m);
                    wv[p][m] = _mm512_and_si512(v, low);
                    wv[p][m + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
                }
            } else {
                for (int g = 0; g < 8; g++) wv[p][g] = _mm512_loadu_si512(pb + 32 + 64 * g);
            }
        }
        for (int j = 0; j < T; j++) {
            const uint8_t *xb = xp + (int64_t)(t + j) * x_stride + (int64_t)b * PACKED_BLOCK;
            const __m512 xs = broadcastf(xb + 40);
            for (int p = 0; p < P; p++) {
                // weight vector g holds elements 4g..4g+3 of every row (Q4_0's high nibbles included);
                // two integer chains (even and odd g): exact sums, half the latency
                __m512i even = broadcast32(xb + (q4 ? 32 : 36));
                __m512i odd = _mm512_setzero_si512();
                for (int g = 0; g < 8; g += 2) {
                    even = _mm512_dpbusd_epi32(even, wv[p][g], broadcast32(xb + 4 * g));
                    odd = _mm512_dpbusd_epi32(odd, wv[p][g + 1], broadcast32(xb + 4 * g + 4));
                }
                acc[p][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(even, odd)), _mm512_mul_ps(ws[p], xs), acc[p][j]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        int r0 = (pi + p) * PANEL;
        int lo = row_start > r0 ? row_start - r0 : 0;
        int hi = row_end < r0 + PANEL ? row_end - r0 : PANEL;
        if (hi <= lo) continue;
        __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
        for (int j = 0; j < T; j++) _mm512_mask_storeu_ps(out + (int64_t)(t + j) * out_stride + r0, m, acc[p][j]);
    }
}

ALWAYS_INLINE void panel_gemm(const int q4, const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out,
                              int64_t out_stride, int row_start, int row_end) {
    const int blocks = cols / QK;
    const int first = row_start / PANEL, last = (row_end + PANEL - 1) / PANEL;
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS;
    if (tokens == 1) {
        int pi = first;
        if (xllm_decode_panels >= 2)
            for (; pi + 2 <= last; pi += 2) panel_tile(q4, 2, 1, panels, blocks, xp, pi, 0, out, out_stride, row_start, row_end, prefetch);
        for (; pi < last; pi++) panel_tile(q4, 1, 1, panels, blocks, xp, pi, 0, out, out_stride, row_start, row_end, prefetch);
        return;
    }
    const int tb = token_block((int64_t)blocks * PACKED_BLOCK);
    for (int t0 = 0; t0 < tokens; t0 += tb) {
        const int t1 = t0 + tb < tokens ? t0 + tb : tokens;
        for (int pi = first; pi < last; pi++) {
            int t = t0;
            for (; t + 8 <= t1; t += 8) panel_tile(q4, 1, 8, panels, blocks, xp, pi, t, out, out_stride, row_start, row_end, prefetch);
            for (; t + 4 <= t1; t += 4) panel_tile(q4, 1, 4, panels, blocks, xp, pi, t, out, out_stride, row_start, row_end, prefetch);
            for (; t < t1; t++) panel_tile(q4, 1, 1, panels, blocks, xp, pi, t, out, out_stride, row_start, row_end, prefetch);
        }
    }
}

void xllm_q4_gemm(const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out, int64_t out_offset,
                  int64_t out_stride, int row_start, int row_end) {
    panel_gemm(1, panels, cols, xp, tokens, out + out_offset, out_stride, row_start, row_end);
}

void xllm_q8_gemm(const uint8_t *panels, int cols, const uint8_t *xp, int tokens, float *out, int64_t out_offset,
                  int64_t out_stride, int row_start, int row_end) {
    panel_gemm(0, panels, cols, xp, tokens, out + out_offset, out_stride, row_start, row_end);
}
