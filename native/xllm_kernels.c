// Matrix kernels for x86-64 with AVX-512 (F, BW, VL, VNNI, BF16), called from xllm.engine through Panama FFM
// once xllm_cpu_features (cpu_features.c, built without these instructions) has said the CPU has them.
//
// Layouts are the engine's: weight rows as stored (GGUF Q8_0 / Q4_0 blocks, or BF16), activations packed once
// per multiplication by the xllm_pack_* functions, results written to out[t * out_stride + r] for the rows
// [row_start, row_end) of a call, so the pool's threads can split one multiplication by rows.
//
// Every (row, token) result is computed by the same sequence of operations whatever tile it falls in, so a
// sequence's logits do not depend on the batch it runs in.

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define QK 32          // elements per quantized block
#define PAIR 64        // two blocks: one 512-bit vector of int8
#define Q8_BLOCK 34    // fp16 scale + 32 int8
#define Q4_BLOCK 18    // fp16 scale + 16 bytes of nibbles
#define PACKED_PAIR 192 // packed activations per pair: 64 int8, 16 int32 corrections, 16 float scales

static inline int pairs_of(int cols) { return (cols / QK + 1) / 2; }

int64_t xllm_q8_packed_bytes(int tokens, int cols) { return (int64_t)tokens * pairs_of(cols) * PACKED_PAIR; }

// ---------------------------------------------------------------------------------------------------------
// Activations quantized per 32-element block to int8 (round to nearest even) with the scale rounded to fp16,
// as llama.cpp's q8_0: the same products as its kernels. Blocks go in pairs, laid out as the matching
// weight kernel's vector of a pair holds its weights:
//  - for Q8_0 weights: block A's 32 values, then block B's; scales spread [A x8, B x8];
//  - for Q4_0 weights: A[0..15], B[0..15], A[16..31], B[16..31] (low nibbles, then high nibbles, of the two
//    blocks' bytes); scales [A x4, B x4, A x4, B x4].
// Per pair: the 64 int8 values, one int32 correction per 4-value lane (see the kernels), 16 float scales.
// An odd last block is paired with a zero block of scale 0.
// ---------------------------------------------------------------------------------------------------------
enum { LAYOUT_Q8 = 0, LAYOUT_Q4 = 1 };

void xllm_pack_q8(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, int layout,
                  uint8_t *out) {
    x += x_offset;
    const int blocks = cols / QK;
    const int pairs = pairs_of(cols);
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        uint8_t *o = out + (int64_t)t * pairs * PACKED_PAIR;
        for (int p = 0; p < pairs; p++, o += PACKED_PAIR) {
            __m128i q[2][2]; // [block][half]
            float d[2];
            for (int h = 0; h < 2; h++) {
                int b = 2 * p + h;
                if (b >= blocks) {
                    q[h][0] = q[h][1] = _mm_setzero_si128();
                    d[h] = 0.0f;
                    continue;
                }
                __m512 v0 = _mm512_loadu_ps(xt + b * QK);
                __m512 v1 = _mm512_loadu_ps(xt + b * QK + 16);
                float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
                d[h] = _cvtsh_ss(_cvtss_sh(amax / 127.0f, 0));
                __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
                q[h][0] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, id)));
                q[h][1] = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, id)));
            }
            __m512i qs;
            __m512 scales;
            __m256 da = _mm256_set1_ps(d[0]), db = _mm256_set1_ps(d[1]);
            if (layout == LAYOUT_Q8) {
                qs = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(q[0][1], q[0][0])), _mm256_set_m128i(q[1][1], q[1][0]), 1);
                scales = _mm512_insertf32x8(_mm512_castps256_ps512(da), db, 1);
            } else {
                qs = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(q[1][0], q[0][0])), _mm256_set_m128i(q[1][1], q[0][1]), 1);
                __m256 ab = _mm256_blend_ps(da, db, 0xF0);
                scales = _mm512_insertf32x8(_mm512_castps256_ps512(ab), ab, 1);
            }
            // per lane: the sum of its four values, times -128 (Q8_0: weights are offset by +128 to be
            // unsigned) or -8 (Q4_0: nibbles are the weights offset by +8)
            __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), qs);
            __m512i corr = _mm512_mullo_epi32(sums, _mm512_set1_epi32(layout == LAYOUT_Q8 ? -128 : -8));
            _mm512_storeu_si512(o, qs);
            _mm512_storeu_si512(o + 64, corr);
            _mm512_storeu_ps((float *)(o + 128), scales);
        }
    }
}

// A pair of Q4_0 blocks (36 bytes at a) as 64 unsigned nibbles in the packed activations' Q4 order, and
// their scales in the same lane order: one 64-byte load, three shuffles and a bit-matrix multiply (GFNI)
// that takes low or high nibbles. Only a row's last pair (tail) masks its load, which may otherwise reach
// past the matrix, and its second block, which may not exist.
static inline void q4_pair(const uint8_t *a, int tail, int has_b, __m512i *w, __m512 *scales) {
    const __m512i pick = _mm512_set_epi8(
        35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
        17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
        35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
        17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2);
    // GF(2) affine bit matrices, one per qword: the low nibble (first half), the high nibble (second half)
    const __m512i nibbles = _mm512_set_epi64(0x1020408000000000ll, 0x1020408000000000ll, 0x1020408000000000ll, 0x1020408000000000ll,
                                             0x0102040800000000ll, 0x0102040800000000ll, 0x0102040800000000ll, 0x0102040800000000ll);
    const __m512i scale_pick = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                9, 9, 9, 9, 0, 0, 0, 0, 9, 9, 9, 9, 0, 0, 0, 0);
    __m512i raw = tail ? _mm512_maskz_loadu_epi8(has_b ? 0xFFFFFFFFFull : 0x3FFFFull, a) : _mm512_loadu_si512(a);
    *w = _mm512_gf2p8affine_epi64_epi8(_mm512_permutexvar_epi8(pick, raw), nibbles, 0);
    *scales = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_pick, raw)));
}

// A pair of Q8_0 blocks (68 bytes at a) as 64 bytes offset to unsigned (w + 128), and their scales: two
// overlapping 64-byte loads (a and a + 4) and a two-source byte shuffle; a row's last pair (tail) without
// a second block masks its load.
static inline void q8_pair(const uint8_t *a, int tail, int has_b, __m512i *w, __m512 *scales) {
    const __m512i pick = _mm512_set_epi8(
        127, 126, 125, 124, 123, 122, 121, 120, 119, 118, 117, 116, 115, 114, 113, 112,
        111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100, 99, 98, 97, 96,
        33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18,
        17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2);
    const __m512i scale_pick = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                17, 17, 17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 0, 0, 0, 0);
    const int partial = tail && !has_b;
    __m512i lo = partial ? _mm512_maskz_loadu_epi8(0x3FFFFFFFFull, a) : _mm512_loadu_si512(a);
    __m512i hi = partial ? _mm512_setzero_si512() : _mm512_loadu_si512(a + 4);
    *w = _mm512_xor_si512(_mm512_permutex2var_epi8(lo, pick, hi), _mm512_set1_epi8((char)0x80));
    *scales = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_pick, lo)));
}

// ---------------------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 weights x packed q8 activations, R rows x T tokens per tile (constants after inlining, so
// the accumulators live in registers). vpdpbusd multiplies unsigned by signed bytes: the weights are made
// unsigned (Q4_0 nibbles are w + 8, Q8_0 bytes get + 128) and each lane's packed correction, as the
// accumulator's start, takes the offset times the sum of its activations away again.
// ---------------------------------------------------------------------------------------------------------
#define ALWAYS_INLINE static inline __attribute__((always_inline))

// One pair of blocks of R rows against T tokens, accumulated into acc.
ALWAYS_INLINE void quant_step(const int q4, const int R, const int T, const int tail, const int has_b, const uint8_t *w,
                              int64_t row_bytes, int r, int p, const uint8_t *xb, int64_t x_stride, __m512 acc[8][4]) {
    const int pair_bytes = q4 ? 2 * Q4_BLOCK : 2 * Q8_BLOCK;
    __m512i wv[8];
    __m512 ws[8];
    for (int i = 0; i < R; i++) {
        const uint8_t *a = w + (int64_t)(r + i) * row_bytes + (int64_t)p * pair_bytes;
        if (q4) {
            q4_pair(a, tail, has_b, &wv[i], &ws[i]);
        } else {
            q8_pair(a, tail, has_b, &wv[i], &ws[i]);
        }
    }
    for (int j = 0; j < T; j++) {
        const uint8_t *xt = xb + j * x_stride;
        __m512i xq = _mm512_loadu_si512(xt);
        __m512i c = _mm512_loadu_si512(xt + 64);
        __m512 xs = _mm512_loadu_ps((const float *)(xt + 128));
        for (int i = 0; i < R; i++)
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c, wv[i], xq)), _mm512_mul_ps(ws[i], xs), acc[i][j]);
    }
}

ALWAYS_INLINE void quant_tile(const int q4, const int R, const int T, const uint8_t *w, int64_t row_bytes,
                              int blocks, int pairs, const uint8_t *xp, int64_t x_stride, int r, int t,
                              float *out, int64_t out_stride) {
    __m512 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_ps();
    const uint8_t *x0 = xp + (int64_t)t * x_stride;
    for (int p = 0; p < pairs - 1; p++) {
        quant_step(q4, R, T, 0, 1, w, row_bytes, r, p, x0 + (int64_t)p * PACKED_PAIR, x_stride, acc);
    }
    const uint8_t *xl = x0 + (int64_t)(pairs - 1) * PACKED_PAIR;
    if (blocks % 2 == 0) {
        quant_step(q4, R, T, 1, 1, w, row_bytes, r, pairs - 1, xl, x_stride, acc);
    } else {
        quant_step(q4, R, T, 1, 0, w, row_bytes, r, pairs - 1, xl, x_stride, acc);
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

// Tokens per block of a multiplication: a block's activations (bytes_per_token each) stay in L2 while
// every row of the call passes over them.
static inline int token_block(int64_t bytes_per_token) {
    int64_t tb = (256 * 1024) / bytes_per_token;
    return tb < 4 ? 4 : (tb > 64 ? 64 : (int)(tb & ~3));
}

// The loop nest of every kernel, over TILE(R, T, row, token): one token (decode) goes DECODE_ROWS rows at
// a time; more go by blocks of token_block tokens, 4 rows x 4 tokens per tile, remainders one by one.
#define TILED(TILE, DECODE_ROWS, BYTES_PER_TOKEN)                                                          \
    do {                                                                                                \
        if (tokens == 1) {                                                                              \
            int r = row_start;                                                                          \
            for (; r + (DECODE_ROWS) <= row_end; r += (DECODE_ROWS)) TILE(DECODE_ROWS, 1, r, 0);        \
            for (; r < row_end; r++) TILE(1, 1, r, 0);                                                  \
            break;                                                                                      \
        }                                                                                               \
        const int tb = token_block(BYTES_PER_TOKEN);                                                    \
        for (int t0 = 0; t0 < tokens; t0 += tb) {                                                       \
            const int t1 = t0 + tb < tokens ? t0 + tb : tokens;                                         \
            int r = row_start;                                                                          \
            for (; r + 4 <= row_end; r += 4) {                                                          \
                int t = t0;                                                                             \
                for (; t + 4 <= t1; t += 4) TILE(4, 4, r, t);                                           \
                for (; t < t1; t++) TILE(4, 1, r, t);                                                   \
            }                                                                                           \
            for (; r < row_end; r++) {                                                                  \
                int t = t0;                                                                             \
                for (; t + 4 <= t1; t += 4) TILE(1, 4, r, t);                                           \
                for (; t < t1; t++) TILE(1, 1, r, t);                                                   \
            }                                                                                           \
        }                                                                                               \
    } while (0)

ALWAYS_INLINE void quant_gemm(const int q4, const uint8_t *w, int64_t row_bytes, int cols, const uint8_t *xp,
                              int tokens, float *out, int64_t out_stride, int row_start, int row_end) {
    const int blocks = cols / QK;
    const int pairs = pairs_of(cols);
    const int64_t x_stride = (int64_t)pairs * PACKED_PAIR;
#define QUANT_TILE(R, T, r, t) quant_tile(q4, R, T, w, row_bytes, blocks, pairs, xp, x_stride, r, t, out, out_stride)
    // decode: eight rows keep more loads in flight; Q8_0's wider unpacking leaves registers for only four
    if (q4) {
        TILED(QUANT_TILE, 8, x_stride);
    } else {
        TILED(QUANT_TILE, 4, x_stride);
    }
#undef QUANT_TILE
}

void xllm_q4_gemm(const uint8_t *w, int64_t row_bytes, int cols, const uint8_t *xp, int tokens, float *out,
                  int64_t out_offset, int64_t out_stride, int row_start, int row_end) {
    out += out_offset;
    quant_gemm(1, w, row_bytes, cols, xp, tokens, out, out_stride, row_start, row_end);
}

void xllm_q8_gemm(const uint8_t *w, int64_t row_bytes, int cols, const uint8_t *xp, int tokens, float *out,
                  int64_t out_offset, int64_t out_stride, int row_start, int row_end) {
    out += out_offset;
    quant_gemm(0, w, row_bytes, cols, xp, tokens, out, out_stride, row_start, row_end);
}

// ---------------------------------------------------------------------------------------------------------
// BF16 weights x bf16 activations with vdpbf16ps (pairs of products summed into float lanes). Activations
// are rounded to bf16 (nearest even) once per multiplication and zero-padded to whole vectors of 32.
// ---------------------------------------------------------------------------------------------------------
static inline int padded32(int cols) { return (cols + 31) & ~31; }

int64_t xllm_bf16_packed_bytes(int tokens, int cols) { return (int64_t)tokens * padded32(cols) * 2; }

void xllm_pack_bf16(const float *x, int64_t x_offset, int64_t x_stride, int t_start, int t_end, int cols, uint16_t *out) {
    x += x_offset;
    const int width = padded32(cols);
    for (int t = t_start; t < t_end; t++) {
        const float *xt = x + (int64_t)t * x_stride;
        uint16_t *o = out + (int64_t)t * width;
        for (int k = 0; k < width; k += 32) {
            int n = cols - k;
            __mmask16 m0 = n >= 16 ? 0xFFFF : (n <= 0 ? 0 : (__mmask16)((1u << n) - 1));
            int n1 = n - 16;
            __mmask16 m1 = n1 >= 16 ? 0xFFFF : (n1 <= 0 ? 0 : (__mmask16)((1u << n1) - 1));
            __m512 lo = _mm512_maskz_loadu_ps(m0, xt + k);
            __m512 hi = _mm512_maskz_loadu_ps(m1, xt + k + 16);
            _mm512_storeu_si512(o + k, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

ALWAYS_INLINE void bf16_tile(const int R, const int T, const uint16_t *w, int cols, const uint16_t *xp, int width,
                             int r, int t, float *out, int64_t out_stride) {
    __m512 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_ps();
    const int full = cols & ~31;
    for (int k = 0; k < width; k += 32) {
        __m512i wv[4];
        if (k < full) {
            for (int i = 0; i < R; i++) wv[i] = _mm512_loadu_si512(w + (int64_t)(r + i) * cols + k);
        } else {
            __mmask32 m = (__mmask32)((1ull << (cols - k)) - 1);
            for (int i = 0; i < R; i++) wv[i] = _mm512_maskz_loadu_epi16(m, w + (int64_t)(r + i) * cols + k);
        }
        for (int j = 0; j < T; j++) {
            __m512bh xv = (__m512bh)_mm512_loadu_si512(xp + (int64_t)(t + j) * width + k);
            for (int i = 0; i < R; i++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)wv[i], xv);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

void xllm_bf16_gemm(const uint16_t *w, int cols, const uint16_t *xp, int tokens, float *out, int64_t out_offset,
                    int64_t out_stride, int row_start, int row_end) {
    out += out_offset;
    const int width = padded32(cols);
#define BF16_TILE(R, T, r, t) bf16_tile(R, T, w, cols, xp, width, r, t, out, out_stride)
    TILED(BF16_TILE, 4, (int64_t)width * 2);
#undef BF16_TILE
}

// ---------------------------------------------------------------------------------------------------------
// F32 weights x F32 activations (read in place from the engine's arrays): FMA over 16-float vectors, the
// last partial vector masked, R rows x T tokens per tile.
// ---------------------------------------------------------------------------------------------------------
ALWAYS_INLINE void f32_tile(const int R, const int T, const float *w, int cols, const float *x, int r, int t,
                            float *out, int64_t out_stride) {
    __m512 acc[8][4];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = _mm512_setzero_ps();
    const int full = cols & ~15;
    for (int k = 0; k < cols; k += 16) {
        const __mmask16 m = k < full ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - k)) - 1);
        __m512 wv[8];
        for (int i = 0; i < R; i++) wv[i] = _mm512_maskz_loadu_ps(m, w + (int64_t)(r + i) * cols + k);
        for (int j = 0; j < T; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (int64_t)(t + j) * cols + k);
            for (int i = 0; i < R; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) out[(int64_t)(t + j) * out_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

void xllm_f32_gemm(const float *w, int cols, const float *x, int64_t x_offset, int tokens, float *out, int64_t out_offset,
                   int64_t out_stride, int row_start, int row_end) {
    x += x_offset;
    out += out_offset;
#define F32_TILE(R, T, r, t) f32_tile(R, T, w, cols, x, r, t, out, out_stride)
    TILED(F32_TILE, 8, (int64_t)cols * 4);
#undef F32_TILE
}
