// Float matrix kernels (BF16 and F32 weights) for x86-64 with AVX-512, called from xllm.engine through Panama
// FFM once xllm_cpu_features (cpu_features.c, built without these instructions) has said the CPU has them;
// the quantized ones are in quant_panels.c. (avx2/ holds the same kernels for CPUs without AVX-512.)
//
// BF16 and F32 weights are read from panels of rows (xllm_bf16_repack, xllm_f32_repack, at load), except by
// xllm_bf16_f32_gemm, which reads BF16 rows as stored; bf16 activations are packed once per multiplication by
// xllm_pack_bf16;
// results go to out[t * out_stride + r] for the rows [row_start, row_end) of a call, so the pool's threads
// can split one multiplication by rows.
//
// Every (row, token) result is computed by the same sequence of operations whatever tile it falls in, so a
// sequence's logits do not depend on the batch it runs in.

#include "simd.h"

// ---------------------------------------------------------------------------------------------------------
// BF16 weights x bf16 activations with vdpbf16ps (pairs of products summed into float lanes). Activations
// are rounded to bf16 (nearest even) once per multiplication and zero-padded to whole vectors of 32.
// ---------------------------------------------------------------------------------------------------------
static inline int padded32(int cols) { return (cols + 31) & ~31; }

int64_t xllm_bf16_packed_bytes(int tokens, int cols) { return (int64_t)tokens * padded32(cols) * 2; }

// The weights in panels of 8 rows: per block of 64 bytes of a row (32 BF16 or 16 F32 columns), the 8 rows'
// blocks one after another (512 bytes), the blocks of a panel in column order, zero-padded to whole blocks and
// whole panels. A tile of 8 rows then reads one contiguous stream instead of 8 separate ones, and a thread's share
// of rows is one stream too (on Zen 5, batch-1 decode of the 0.5B shape in BF16 went from 42.5 to 60.2 tok/s).
#define FLOAT_PANEL_ROWS 8
// How far ahead of a panel tile its weights are prefetched, in bytes (when xllm_prefetch_rows is not 0: for
// panels that switch, not the distance, comes from the CPU target).
#define FLOAT_PANEL_PREFETCH 4096

// cols rounded up to whole blocks of `lanes` elements.
static inline int padded_to(int cols, int lanes) { return (cols + lanes - 1) / lanes * lanes; }

// Bytes of the panels of a rows x cols matrix of `size`-byte elements.
static int64_t panel_bytes(int rows, int cols, int size) {
    return (int64_t)((rows + FLOAT_PANEL_ROWS - 1) / FLOAT_PANEL_ROWS) * FLOAT_PANEL_ROWS * padded_to(cols, 64 / size) * size;
}

// Where row r's first block starts in panels of blocks `lanes` elements wide (a row's 64 bytes), in elements; its
// block at column k (a multiple of lanes) lies k * 8 elements further on. width: the padded row length.
ALWAYS_INLINE int64_t panel_row(int width, int lanes, int r) {
    return (int64_t)(r / FLOAT_PANEL_ROWS) * FLOAT_PANEL_ROWS * width + (r % FLOAT_PANEL_ROWS) * lanes;
}

// Row-major weights of `size`-byte elements into panels of 64-byte blocks (zero-padded).
static void repack_panels(const void *w, int rows, int cols, int size, void *panels) {
    const int lanes = 64 / size;
    const int width = padded_to(cols, lanes);
    memset(panels, 0, (size_t)panel_bytes(rows, cols, size));
    for (int r = 0; r < rows; r++) {
        char *dst = (char *)panels + panel_row(width, lanes, r) * size;
        for (int k = 0; k < cols; k += lanes) {
            const int n = cols - k < lanes ? cols - k : lanes;
            memcpy(dst + (int64_t)k * FLOAT_PANEL_ROWS * size, (const char *)w + ((int64_t)r * cols + k) * size, (size_t)n * size);
        }
    }
}

int64_t xllm_bf16_panel_bytes(int rows, int cols) { return panel_bytes(rows, cols, 2); }

void xllm_bf16_repack(const uint16_t *w, int rows, int cols, uint16_t *panels) { repack_panels(w, rows, cols, 2, panels); }

int64_t xllm_f32_panel_bytes(int rows, int cols) { return panel_bytes(rows, cols, 4); }

void xllm_f32_repack(const float *w, int rows, int cols, float *panels) { repack_panels(w, rows, cols, 4, panels); }

void xllm_pack_bf16(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, uint16_t *out) {
    x += x_offset;
    const int width = padded32(cols);
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        uint16_t *o = out + (int64_t)t * width;
        for (int k = 0; k < width; k += 32) {
            const __mmask16 m0 = first_lanes(cols - k);
            const __mmask16 m1 = first_lanes(cols - k - 16);
            __m512 lo = _mm512_maskz_loadu_ps(m0, xt + k);
            __m512 hi = _mm512_maskz_loadu_ps(m1, xt + k + 16);
            _mm512_storeu_si512(o + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

// R rows x T tokens from the panels (zero-padded, so no lane is masked).
ALWAYS_INLINE void bf16_tile(const int R, const int T, const uint16_t *w, const uint16_t *xp, int width, int r, int t,
                             float *out, int64_t out_stride, int prefetch) {
    __m512 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_ps();
    const uint16_t *rows[8];
    for (int i = 0; i < R; i++) rows[i] = w + panel_row(width, 32, r + i);
    for (int k = 0; k < width; k += 32) {
        __m512i wv[8];
        if (prefetch)
            for (int i = 0; i < R; i++) _mm_prefetch((const char *)(rows[i] + (int64_t)k * FLOAT_PANEL_ROWS) + FLOAT_PANEL_PREFETCH, _MM_HINT_T0);
        for (int i = 0; i < R; i++) wv[i] = _mm512_loadu_si512(rows[i] + (int64_t)k * FLOAT_PANEL_ROWS);
        for (int j = 0; j < T; j++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xp + (int64_t)(t + j) * width + k);
            for (int i = 0; i < R; i++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)wv[i], xv);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

// w: the panels of xllm_bf16_repack.
void xllm_bf16_gemm(const uint16_t *w, int cols, const uint16_t *xp, int tokens, float *out, int64_t out_offset,
                    int64_t out_stride, int row_start, int row_end) {
    out += out_offset;
    const int width = padded32(cols);
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS && xllm_prefetch_rows > 0;
#define BF16_TILE(R, T, r, t) bf16_tile(R, T, w, xp, width, r, t, out, out_stride, prefetch)
    TILED(BF16_TILE, 4, 4, (int64_t)width * 2);
#undef BF16_TILE
}

// ---------------------------------------------------------------------------------------------------------
// F32 or BF16 weights x F32 activations (read in place from the engine's arrays): FMA over 16-float vectors,
// BF16 weights widened exactly (shifted into the high half of a float), the last partial vector masked,
// R rows x T tokens per tile.
// ---------------------------------------------------------------------------------------------------------
ALWAYS_INLINE __m512 load_weights(const int bf16, const void *w, int64_t i, __mmask16 m) {
    if (bf16) {
        __m512i bits = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(bits, 16));
    }
    return _mm512_maskz_loadu_ps(m, (const float *)w + i);
}

// panels (F32 only): w holds xllm_f32_repack's panels, whose blocks are whole (zero-padded) and read unmasked.
ALWAYS_INLINE void f32_tile(const int bf16, const int panels, const int R, const int T, const void *w, int cols, const float *x,
                            int r, int t, float *out, int64_t out_stride, int prefetch) {
    const char *bytes = (const char *)w;
    const int64_t e = bf16 ? 2 : 4;
    const int width = padded_to(cols, 16);
    const float *rows[8];
    if (panels)
        for (int i = 0; i < R; i++) rows[i] = (const float *)w + panel_row(width, 16, r + i);
    __m512 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_ps();
    for (int k = 0; k < cols; k += 16) {
        const __mmask16 m = first_lanes(cols - k);
        __m512 wv[8];
        if (panels) {
            if (prefetch)
                for (int i = 0; i < R; i++) _mm_prefetch((const char *)(rows[i] + (int64_t)k * FLOAT_PANEL_ROWS) + FLOAT_PANEL_PREFETCH, _MM_HINT_T0);
            for (int i = 0; i < R; i++) wv[i] = _mm512_loadu_ps(rows[i] + (int64_t)k * FLOAT_PANEL_ROWS);
        } else {
            if (prefetch)
                for (int i = 0; i < R; i++) _mm_prefetch(bytes + ((int64_t)(r + i + xllm_prefetch_rows) * cols + k) * e, _MM_HINT_T0);
            for (int i = 0; i < R; i++) wv[i] = load_weights(bf16, w, (int64_t)(r + i) * cols + k, m);
        }
        for (int j = 0; j < T; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (int64_t)(t + j) * cols + k);
            for (int i = 0; i < R; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

ALWAYS_INLINE void float_gemm(const int bf16, const int panels, const void *w, int cols, const float *x, int64_t x_offset, int tokens,
                              float *out, int64_t out_offset, int64_t out_stride, int row_start, int row_end) {
    x += x_offset;
    out += out_offset;
    const int prefetch = tokens <= PREFETCH_MAX_TOKENS && xllm_prefetch_rows > 0;
#define F32_TILE(R, T, r, t) f32_tile(bf16, panels, R, T, w, cols, x, r, t, out, out_stride, prefetch)
    TILED(F32_TILE, 4, 4, (int64_t)cols * 4);
#undef F32_TILE
}

// w: the panels of xllm_f32_repack.
void xllm_f32_gemm(const float *w, int cols, const float *x, int64_t x_offset, int tokens, float *out, int64_t out_offset,
                   int64_t out_stride, int row_start, int row_end) {
    float_gemm(0, 1, w, cols, x, x_offset, tokens, out, out_offset, out_stride, row_start, row_end);
}

// BF16 weights against float activations: the exact products of --activations f32.
void xllm_bf16_f32_gemm(const uint16_t *w, int cols, const float *x, int64_t x_offset, int tokens, float *out, int64_t out_offset,
                        int64_t out_stride, int row_start, int row_end) {
    float_gemm(1, 0, w, cols, x, x_offset, tokens, out, out_offset, out_stride, row_start, row_end);
}
