// Element-wise kernels over the engine's heap float arrays, for the work between matrix multiplications.

#include "simd.h"

// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i] for i < n: the SwiGLU activation.
void xllm_silu_mul(float *gate, int64_t gate_offset, const float *up, int64_t up_offset, int64_t n) {
    gate += gate_offset;
    up += up_offset;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = first_lanes(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 sigmoid = _mm512_add_ps(exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g)), one);
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(_mm512_div_ps(g, sigmoid), _mm512_maskz_loadu_ps(m, up + i)));
    }
}

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i] for i < n: the RMSNorm of Llama-family models.
void xllm_rms_norm(const float *x, int64_t x_offset, const float *weight, float eps, float *out, int64_t out_offset, int64_t n) {
    x += x_offset;
    out += out_offset;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = first_lanes(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        acc = _mm512_fmadd_ps(v, v, acc);
    }
    const float scale = (float)(1.0 / __builtin_sqrt(_mm512_reduce_add_ps(acc) / n + eps));
    const __m512 s = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = first_lanes(n - i);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s), _mm512_maskz_loadu_ps(m, weight + i)));
    }
}

// y[i] += x[i] for i < n: the residual connection, and biases.
void xllm_add(float *y, int64_t y_offset, const float *x, int64_t x_offset, int64_t n) {
    y += y_offset;
    x += x_offset;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = first_lanes(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), _mm512_maskz_loadu_ps(m, x + i)));
    }
}
