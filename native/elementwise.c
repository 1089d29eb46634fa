// Element-wise kernels over the engine's heap float arrays, for the work between matrix multiplications.

#include "kernels.h"

// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i] for i < n: the SwiGLU activation.
void xllm_silu_mul(float *gate, int64_t gate_offset, const float *up, int64_t up_offset, int64_t n) {
    gate += gate_offset;
    up += up_offset;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 sigmoid = _mm512_add_ps(exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g)), one);
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(_mm512_div_ps(g, sigmoid), _mm512_maskz_loadu_ps(m, up + i)));
    }
}
