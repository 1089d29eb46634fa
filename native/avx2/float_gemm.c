// Float matrix kernels (BF16 and F32 weights) for x86-64 with AVX2 and FMA: the symbols and semantics of
// avx512/float_gemm.c for CPUs without AVX-512 (no vdpbf16ps: bf16 is widened to float, exactly, by putting its
// 16 bits in a float's high half), except that xllm_bf16_gemm reads weights repacked into panels of rows.
//
// Results go to out[t * out_stride + r] for the rows [row_start, row_end) of a call. Every (row, token) result
// is computed by the same sequence of operations whatever tile it falls in, so a sequence's logits do not
// depend on the batch it runs in.

#include "simd.h"

// ---------------------------------------------------------------------------------------------------------
// BF16 weights x activations rounded to bf16 (nearest even) once per multiplication. The packed activations
// are those rounded values as floats, per group of 16 in the order a 32-byte load of 16 weights widens to:
// the even elements (the low halves of its 32-bit lanes, shifted up), then the odd ones (the high halves,
// masked); zero-padded to whole groups.
// ---------------------------------------------------------------------------------------------------------
static inline int padded16(int cols) { return (cols + 15) & ~15; }

// The tile for more than one token (see bf16_tile)
#ifndef BF16_ROWS
#define BF16_ROWS 4
#endif
#ifndef BF16_TOKENS
#define BF16_TOKENS 2
#endif

int64_t xllm_bf16_packed_bytes(int tokens, int cols) { return (int64_t)tokens * padded16(cols) * 4; }

ALWAYS_INLINE __m256 round_bf16(__m256 v) {
    __m256i bits = _mm256_castps_si256(v);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    bits = _mm256_add_epi32(bits, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), odd));
    return _mm256_castsi256_ps(_mm256_and_si256(bits, _mm256_set1_epi32((int)0xFFFF0000)));
}

void xllm_pack_bf16(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, float *out) {
    x += x_offset;
    const int width = padded16(cols);
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        float *o = out + (int64_t)t * width;
        for (int k = 0; k < width; k += 16) {
            __m256 lo = round_bf16(_mm256_maskload_ps(xt + k, first_lanes(cols - k)));
            __m256 hi = round_bf16(_mm256_maskload_ps(xt + k + 8, first_lanes(cols - k - 8)));
            __m256 even = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)); // 0 2 8 10 | 4 6 12 14
            __m256 odd = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
            even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
            odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), _MM_SHUFFLE(3, 1, 2, 0)));
            _mm256_storeu_ps(o + k, even);
            _mm256_storeu_ps(o + k + 8, odd);
        }
    }
}

// The weights in panels of 8 rows: per block of 16 columns, the 8 rows' 16 weights one after another (256
// bytes), the blocks of a panel in column order, zero-padded to whole blocks and whole panels. A decode tile of 8
// rows then reads one contiguous stream instead of 8 short ones (which the hardware prefetcher follows badly:
// 8 rows at once from row-major weights read 11-13 GB/s on Zen 3, the same rows from panels 18-25 GB/s).
#define BF16_PANEL_ROWS 8
// How far ahead of a panel tile its weights are prefetched, in bytes (when xllm_prefetch_rows is not 0: for
// panels that switch, not the distance, comes from the CPU target).
#define BF16_PANEL_PREFETCH 2048

int64_t xllm_bf16_panel_bytes(int rows, int cols) {
    return (int64_t)((rows + BF16_PANEL_ROWS - 1) / BF16_PANEL_ROWS) * BF16_PANEL_ROWS * padded16(cols) * 2;
}

// Where row r's first block starts in the panels, in elements; its block at column k (a multiple of 16) lies
// k * 8 elements further on.
ALWAYS_INLINE int64_t panel_row(int width, int r) {
    return (int64_t)(r / BF16_PANEL_ROWS) * BF16_PANEL_ROWS * width + (r % BF16_PANEL_ROWS) * 16;
}

void xllm_bf16_repack(const uint16_t *w, int rows, int cols, uint16_t *panels) {
    const int width = padded16(cols);
    memset(panels, 0, (size_t)xllm_bf16_panel_bytes(rows, cols));
    for (int r = 0; r < rows; r++) {
        uint16_t *dst = panels + panel_row(width, r);
        for (int k = 0; k < cols; k += 16) {
            const int n = cols - k < 16 ? cols - k : 16;
            memcpy(dst + (int64_t)k * BF16_PANEL_ROWS, w + (int64_t)r * cols + k, (size_t)n * 2);
        }
    }
}

// R rows x T tokens: per group of 16, the tokens' activations are loaded into registers once, then each row's
// weights are widened once and multiplied against all of them (16 registers: 2T activations, 2 weights, R*T sums).
ALWAYS_INLINE void bf16_tile(const int R, const int T, const uint16_t *w, const float *xp, int width, int r, int t,
                             float *out, int64_t out_stride, int prefetch) {
    __m256 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm256_setzero_ps();
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000);
    const uint16_t *rows[8];
    for (int i = 0; i < R; i++) rows[i] = w + panel_row(width, r + i);
    for (int k = 0; k < width; k += 16) {
        if (prefetch)
            for (int i = 0; i < R; i += 2) _mm_prefetch((const char *)(rows[i] + (int64_t)k * BF16_PANEL_ROWS) + BF16_PANEL_PREFETCH, _MM_HINT_T0);
        __m256 xe[4], xo[4];
        for (int j = 0; j < T; j++) {
            xe[j] = _mm256_loadu_ps(xp + (int64_t)(t + j) * width + k);
            xo[j] = _mm256_loadu_ps(xp + (int64_t)(t + j) * width + k + 8);
        }
        for (int i = 0; i < R; i++) {
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(rows[i] + (int64_t)k * BF16_PANEL_ROWS));
            const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(wv, 16));
            const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(wv, high));
            for (int j = 0; j < T; j++) {
                acc[i][j] = _mm256_fmadd_ps(even, xe[j], acc[i][j]);
                acc[i][j] = _mm256_fmadd_ps(odd, xo[j], acc[i][j]);
            }
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = reduce_add(acc[i][j]);
}

// w: the panels of xllm_bf16_repack.
void xllm_bf16_gemm(const uint16_t *w, int cols, const float *xp, int tokens, float *out, int64_t out_offset,
                    int64_t out_stride, int row_start, int row_end) {
    out += out_offset;
    const int width = padded16(cols);
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS && xllm_prefetch_rows > 0;
#define BF16_TILE(R, T, r, t) bf16_tile(R, T, w, xp, width, r, t, out, out_stride, prefetch)
    TILED(BF16_TILE, BF16_ROWS, BF16_TOKENS, (int64_t)width * 4);
#undef BF16_TILE
}

// ---------------------------------------------------------------------------------------------------------
// F32 or BF16 weights x F32 activations (read in place from the engine's arrays): FMA over 8-float vectors,
// BF16 weights widened exactly, the last partial vector masked (BF16 weights through a zero-padded copy),
// R rows x T tokens per tile.
// ---------------------------------------------------------------------------------------------------------
ALWAYS_INLINE __m256 load_weights(const int bf16, const void *w, int64_t row, int k, int cols) {
    if (bf16) {
        const uint16_t *p = (const uint16_t *)w + row * cols + k;
        __m128i bits;
        if (k + 8 <= cols) {
            bits = _mm_loadu_si128((const __m128i *)p);
        } else {
            uint16_t tail[8] = {0};
            memcpy(tail, p, (size_t)(cols - k) * 2);
            bits = _mm_loadu_si128((const __m128i *)tail);
        }
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
    }
    const float *p = (const float *)w + row * cols + k;
    return k + 8 <= cols ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes(cols - k));
}

ALWAYS_INLINE void f32_tile(const int bf16, const int R, const int T, const void *w, int cols, const float *x, int r, int t,
                            float *out, int64_t out_stride, int prefetch) {
    const char *bytes = (const char *)w;
    const int64_t e = bf16 ? 2 : 4;
    __m256 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm256_setzero_ps();
    for (int k = 0; k < cols; k += 8) {
        if (prefetch && (k * e & 63) == 0)
            for (int i = 0; i < R; i++) _mm_prefetch(bytes + ((int64_t)(r + i + xllm_prefetch_rows) * cols + k) * e, _MM_HINT_T0);
        const __m256i m = first_lanes(cols - k);
        __m256 xv[4];
        for (int j = 0; j < T; j++) {
            const float *xk = x + (int64_t)(t + j) * cols + k;
            xv[j] = k + 8 <= cols ? _mm256_loadu_ps(xk) : _mm256_maskload_ps(xk, m);
        }
        for (int i = 0; i < R; i++) {
            const __m256 wv = load_weights(bf16, w, r + i, k, cols);
            for (int j = 0; j < T; j++) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = reduce_add(acc[i][j]);
}

ALWAYS_INLINE void float_gemm(const int bf16, const void *w, int cols, const float *x, int64_t x_offset, int tokens, float *out,
                              int64_t out_offset, int64_t out_stride, int row_start, int row_end) {
    x += x_offset;
    out += out_offset;
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS && xllm_prefetch_rows > 0;
#define F32_TILE(R, T, r, t) f32_tile(bf16, R, T, w, cols, x, r, t, out, out_stride, prefetch)
    TILED(F32_TILE, 4, 3, (int64_t)cols * 4);
#undef F32_TILE
}

// F32 weights are read as stored here (avx512/ repacks them into panels).
int64_t xllm_f32_panel_bytes(int rows, int cols) {
    (void)rows;
    (void)cols;
    return 0;
}

void xllm_f32_repack(const float *w, int rows, int cols, float *panels) {
    (void)w;
    (void)rows;
    (void)cols;
    (void)panels;
}

void xllm_f32_gemm(const float *w, int cols, const float *x, int64_t x_offset, int tokens, float *out, int64_t out_offset,
                   int64_t out_stride, int row_start, int row_end) {
    float_gemm(0, w, cols, x, x_offset, tokens, out, out_offset, out_stride, row_start, row_end);
}

// BF16 weights against float activations: the exact products of --activations f32.
void xllm_bf16_f32_gemm(const uint16_t *w, int cols, const float *x, int64_t x_offset, int tokens, float *out, int64_t out_offset,
                        int64_t out_stride, int row_start, int row_end) {
    float_gemm(1, w, cols, x, x_offset, tokens, out, out_offset, out_stride, row_start, row_end);
}
