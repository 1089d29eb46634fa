// Shared by the kernel files: intrinsics, and the loop nest that splits a multiplication into tiles.
#ifndef XLLM_KERNELS_H
#define XLLM_KERNELS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// The first n of a vector's 16 lanes: all of them when n >= 16, none when n <= 0 (a row's ragged end).
static inline __mmask16 first_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : (n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1));
}

// e^x per lane (Cephes' expf: range reduction by ln 2, a degree-6 polynomial, the exponent by vscalefps),
// within 2 ulp; inputs clamped to [-87.3, 88.3].
ALWAYS_INLINE __m512 exp_ps(__m512 x) {
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

// Rows ahead of a tile whose weights it prefetches (the quantized kernels: the next panels): the rows of a tile
// are short separate streams, which
// the hardware prefetcher does not pick up in time when the weights come from memory (past the last row a
// prefetch reads nothing and never faults). Only for decode-sized calls: with more tokens each row is reused
// long enough for its loads to be hidden anyway, and the prefetches would be repeated for every token tile.
#define PREFETCH_ROWS 8
#define PREFETCH_MAX_TOKENS 32

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

#endif
