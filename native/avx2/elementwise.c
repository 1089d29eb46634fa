// Element-wise kernels over the engine's heap float arrays, for the work between matrix multiplications
// (AVX2: the semantics of avx512/elementwise.c on 8 lanes).

#include "simd.h"

// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i] for i < n: the SwiGLU activation.
void xllm_silu_mul(float *gate, int64_t gate_offset, const float *up, int64_t up_offset, int64_t n) {
    gate += gate_offset;
    up += up_offset;
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 sigmoid = _mm256_add_ps(exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g)), one);
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, sigmoid), _mm256_loadu_ps(up + i)));
    }
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        const __m256 g = _mm256_maskload_ps(gate + i, m);
        const __m256 sigmoid = _mm256_add_ps(exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g)), one);
        _mm256_maskstore_ps(gate + i, m, _mm256_mul_ps(_mm256_div_ps(g, sigmoid), _mm256_maskload_ps(up + i, m)));
    }
}

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i] for i < n: the RMSNorm of Llama-family models.
void xllm_rms_norm(const float *x, int64_t x_offset, const float *weight, float eps, float *out, int64_t out_offset, int64_t n) {
    x += x_offset;
    out += out_offset;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8) {
        const __m256 v = _mm256_maskload_ps(x + i, first_lanes(n - i));
        acc = _mm256_fmadd_ps(v, v, acc);
    }
    const float scale = (float)(1.0 / __builtin_sqrt(reduce_add(acc) / n + eps));
    const __m256 s = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 8) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), s), _mm256_maskload_ps(weight + i, m)));
    }
}

// y[i] += x[i] for i < n: the residual connection, and biases.
void xllm_add(float *y, int64_t y_offset, const float *x, int64_t x_offset, int64_t n) {
    y += y_offset;
    x += x_offset;
    for (int64_t i = 0; i < n; i += 8) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(y + i, m), _mm256_maskload_ps(x + i, m)));
    }
}
