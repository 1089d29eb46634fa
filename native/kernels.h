// Shared by every instruction set's kernels: the per-CPU configuration, and the loop nest that splits a
// multiplication into tiles. The intrinsics are in each set's own simd.h (avx512/, avx2/).
#ifndef XLLM_KERNELS_H
#define XLLM_KERNELS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Set once at start by xllm_configure (config.c) from the engine's CpuTarget, before any kernel runs.
// xllm_decode_rows: rows per tile of the float kernels for one token (4 or 8);
// xllm_decode_panels: panels per tile of the quantized kernels for one token (1, 2 or 4);
// xllm_prefetch_rows: rows ahead of a float tile whose weights it prefetches (0: none; AVX2's BF16 panels take
// only whether it is 0, their distance being their own).
// Hidden: each library keeps its own, even with another library of the same symbols loaded beside it.
#define HIDDEN __attribute__((visibility("hidden")))
extern HIDDEN int xllm_decode_rows;
extern HIDDEN int xllm_decode_panels;
extern HIDDEN int xllm_prefetch_rows;

// Prefetching ahead of the rows of a tile (see xllm_prefetch_rows; the quantized kernels fetch the next tile's
// panels): the rows of a tile are short separate streams, which the hardware prefetcher does not pick up in time
// when the weights come from memory (past the last row a prefetch reads nothing and never faults). Only for
// decode-sized calls: with more tokens each row is reused long enough for its loads to be hidden anyway, and the
// prefetches would be repeated for every token tile.
#define PREFETCH_MAX_TOKENS 32

// Tokens per block of a multiplication: a block's activations (bytes_per_token each) stay in L2 while
// every row of the call passes over them.
static inline int token_block(int64_t bytes_per_token) {
    int64_t tb = (256 * 1024) / bytes_per_token;
    return tb < 4 ? 4 : (tb > 64 ? 64 : (int)(tb & ~3));
}

// The loop nest of the float kernels, over TILE(R, T, row, token): one token (decode) goes xllm_decode_rows
// rows at a time (8 or 4, the rest one by one); more go by blocks of token_block tokens, ROWS x TOKENS per tile,
// remainders ROWS x 1, 1 x TOKENS and 1 x 1. TILE must give every (row, token) the same operations whatever
// tile it falls in, so that a token's result does not depend on its batch.
#define TILED(TILE, ROWS, TOKENS, BYTES_PER_TOKEN)                                                     \
    do {                                                                                                \
        if (tokens == 1) {                                                                              \
            int r = row_start;                                                                          \
            if (xllm_decode_rows >= 8)                                                                  \
                for (; r + 8 <= row_end; r += 8) TILE(8, 1, r, 0);                                      \
            for (; r + 4 <= row_end; r += 4) TILE(4, 1, r, 0);                                          \
            for (; r < row_end; r++) TILE(1, 1, r, 0);                                                  \
            break;                                                                                      \
        }                                                                                               \
        const int tb = token_block(BYTES_PER_TOKEN);                                                    \
        for (int t0 = 0; t0 < tokens; t0 += tb) {                                                       \
            const int t1 = t0 + tb < tokens ? t0 + tb : tokens;                                         \
            int r = row_start;                                                                          \
            for (; r + (ROWS) <= row_end; r += (ROWS)) {                                                \
                int t = t0;                                                                             \
                for (; t + (TOKENS) <= t1; t += (TOKENS)) TILE(ROWS, TOKENS, r, t);                     \
                for (; t < t1; t++) TILE(ROWS, 1, r, t);                                                \
            }                                                                                           \
            for (; r < row_end; r++) {                                                                  \
                int t = t0;                                                                             \
                for (; t + (TOKENS) <= t1; t += (TOKENS)) TILE(1, TOKENS, r, t);                        \
                for (; t < t1; t++) TILE(1, 1, r, t);                                                   \
            }                                                                                           \
        }                                                                                               \
    } while (0)

#endif
