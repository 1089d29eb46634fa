// The panel layout of the quantized kernels, shared by every instruction set; each picks its panel height
// (the rows one vector holds, a 32-bit lane per row) and where the scales go.
//
// GGUF Q8_0 / Q4_0 rows are repacked into panels of `rows` rows (the last panel padded with zero rows). Per
// panel and 32-element block, the rows' fp16 scales (2 * rows bytes), and the weights arranged so that one
// multiply-add of 4 bytes per 32-bit lane takes 4 consecutive elements of every row (row i in lane i) against
// 4 activations broadcast to every lane; a vector is 4 * rows bytes:
//  - Q8_0: 8 vectors; byte 4i+c of vector g is w[i][4g+c] ^ q8_bias (0x80: stored unsigned, w + 128; 0: signed);
//  - Q4_0: 4 vectors; byte 4i+c of vector m holds w[i][4m+c] + 8 in its low nibble and w[i][16+4m+c] + 8
//    in its high nibble (the nibbles as GGUF stores them).
// Scales inline: each block is its scales then its weights. Scales apart: a panel is all its blocks' weights,
// then all their scales (so the weight vectors stay aligned to their size).
#ifndef XLLM_PANELS_H
#define XLLM_PANELS_H

#include <stdint.h>
#include <string.h>

#define QK 32
#define Q8_BLOCK 34 // fp16 scale + 32 int8
#define Q4_BLOCK 18 // fp16 scale + 16 bytes of nibbles

// Bytes of one panel's weights for one block.
static inline int64_t panel_weight_bytes(int q4, int rows) { return (int64_t)rows * (q4 ? 16 : 32); }

static inline int64_t panels_bytes(int q4, int panel_rows, int rows, int cols) {
    return (int64_t)((rows + panel_rows - 1) / panel_rows) * (cols / QK) * (panel_weight_bytes(q4, panel_rows) + 2 * panel_rows);
}

// Rows [row_start, row_end) of a GGUF Q8_0 / Q4_0 matrix into panels; row_start is a multiple of panel_rows.
static inline void repack_panels(int q4, int panel_rows, uint8_t q8_bias, int scales_apart, const uint8_t *src, int64_t row_bytes,
                                 int rows, int cols, int row_start, int row_end, uint8_t *dst) {
    const int blocks = cols / QK;
    const int64_t weight_bytes = panel_weight_bytes(q4, panel_rows);
    const int64_t scale_bytes = 2 * panel_rows;
    const int64_t panel_bytes = blocks * (weight_bytes + scale_bytes);
    const int src_block = q4 ? Q4_BLOCK : Q8_BLOCK;
    const int vector = 4 * panel_rows;
    for (int p0 = row_start; p0 < row_end; p0 += panel_rows) {
        uint8_t *panel = dst + (int64_t)(p0 / panel_rows) * panel_bytes;
        memset(panel, 0, panel_bytes);
        for (int b = 0; b < blocks; b++) {
            uint8_t *scales = scales_apart ? panel + blocks * weight_bytes + b * scale_bytes : panel + b * (weight_bytes + scale_bytes);
            uint8_t *weights = scales_apart ? panel + b * weight_bytes : scales + scale_bytes;
            for (int i = 0; i < panel_rows && p0 + i < rows; i++) {
                const uint8_t *blk = src + (int64_t)(p0 + i) * row_bytes + (int64_t)b * src_block;
                memcpy(scales + 2 * i, blk, 2);
                if (q4) {
                    for (int k = 0; k < 16; k++) weights[vector * (k / 4) + 4 * i + k % 4] = blk[2 + k]; // nibbles k and k + 16
                } else {
                    for (int k = 0; k < QK; k++) weights[vector * (k / 4) + 4 * i + k % 4] = (uint8_t)(blk[2 + k] ^ q8_bias);
                }
            }
        }
    }
}

#endif
