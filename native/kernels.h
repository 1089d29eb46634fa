// Shared by the kernel files: intrinsics, and the loop nest that splits a multiplication into tiles.
#ifndef XLLM_KERNELS_H
#define XLLM_KERNELS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

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
