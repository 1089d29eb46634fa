// The machine's ceilings, for `xllm bench peak`: how many multiply-adds per second one thread issues with each
// instruction the kernels are built on, so that every measured rate can be put against what the core allows.
// Each loop keeps 12 independent accumulators in registers (more than an FMA unit's latency x throughput), so it
// runs at the instruction's throughput, not its latency. Built for baseline x86-64: every function names its
// instructions with a target attribute, and Java calls only those the CPU has (xllm_cpu_features).

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define CHAINS 12

// Returns a value depending on every accumulator, so that the compiler keeps the loop.
#define FOLD(TYPE, ADD, ZERO, acc)                           \
    TYPE sum = ZERO;                                         \
    for (int i = 0; i < CHAINS; i++) sum = ADD(sum, acc[i]); \
    float out[sizeof(TYPE) / 4];                             \
    memcpy(out, &sum, sizeof out);                           \
    return out[0];

// FP32 FMA over 512-bit vectors: 16 lanes x 2 flops per instruction.
__attribute__((target("avx512f"))) float xllm_peak_fma512(int64_t iterations) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
    for (int64_t n = 0; n < iterations; n++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    FOLD(__m512, _mm512_add_ps, _mm512_setzero_ps(), acc)
}

// FP32 FMA over 256-bit vectors: 8 lanes x 2 flops per instruction.
__attribute__((target("avx2,fma"))) float xllm_peak_fma256(int64_t iterations) {
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
    for (int64_t n = 0; n < iterations; n++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    FOLD(__m256, _mm256_add_ps, _mm256_setzero_ps(), acc)
}

// BF16 dot products (vdpbf16ps): 32 products summed pairwise into 16 float lanes, 64 flops per instruction.
__attribute__((target("avx512f,avx512bf16"))) float xllm_peak_bf16dot512(int64_t iterations) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_setzero_ps();
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
    for (int64_t n = 0; n < iterations; n++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, a);
    FOLD(__m512, _mm512_add_ps, _mm512_setzero_ps(), acc)
}

// int8 dot products (vpdpbusd): 64 unsigned x signed byte products into 16 int32 lanes, 128 ops per instruction.
__attribute__((target("avx512f,avx512vnni"))) float xllm_peak_vnni512(int64_t iterations) {
    __m512i acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_setzero_si512();
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int64_t n = 0; n < iterations; n++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i sum = _mm512_setzero_si512();
    for (int i = 0; i < CHAINS; i++) sum = _mm512_add_epi32(sum, acc[i]);
    return (float)_mm512_reduce_add_epi32(sum);
}

// int8 dot products without VNNI, as AVX2 kernels do them: vpmaddubsw (32 byte products summed pairwise to int16),
// vpmaddwd by ones (pairs to int32), vpaddd: 64 ops per three instructions. The empty asm makes each operand
// look new every iteration, so the products are not hoisted out of the loop.
#define INT8_CHAINS 4
__attribute__((target("avx2"))) float xllm_peak_int8_256(int64_t iterations) {
    __m256i acc[INT8_CHAINS], a[INT8_CHAINS];
    for (int i = 0; i < INT8_CHAINS; i++) {
        acc[i] = _mm256_setzero_si256();
        a[i] = _mm256_set1_epi8((char)(3 + i));
    }
    const __m256i b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (int64_t n = 0; n < iterations; n++)
#pragma GCC unroll 3
        for (int k = 0; k < CHAINS / INT8_CHAINS; k++)
#pragma GCC unroll 4
            for (int i = 0; i < INT8_CHAINS; i++) {
                __asm__("" : "+x"(a[i]));
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a[i], b), ones));
            }
    __m256i sum = _mm256_setzero_si256();
    for (int i = 0; i < INT8_CHAINS; i++) sum = _mm256_add_epi32(sum, acc[i]);
    int32_t lanes[8];
    memcpy(lanes, &sum, sizeof lanes);
    return (float)lanes[0];
}

// Reading memory as the decode kernels read their weights: whole cache lines of 512-bit loads, four per iteration,
// with a software prefetch `ahead` bytes in front of each (0: none), for `xllm bench membw`'s read ceiling.
// Returns a value depending on every load. `p` is 64-byte aligned; `bytes` a multiple of 256.
__attribute__((target("avx512f"))) float xllm_peak_read512(const void *p, int64_t bytes, int64_t ahead) {
    const char *b = p;
    __m512i acc[4];
    for (int i = 0; i < 4; i++) acc[i] = _mm512_setzero_si512();
    for (int64_t i = 0; i + 256 <= bytes; i += 256) {
        if (ahead > 0) {
            for (int j = 0; j < 4; j++) _mm_prefetch(b + i + ahead + 64 * j, _MM_HINT_T0);
        }
        for (int j = 0; j < 4; j++) acc[j] = _mm512_xor_si512(acc[j], _mm512_load_si512((const void *)(b + i + 64 * j)));
    }
    __m512i sum = _mm512_xor_si512(_mm512_xor_si512(acc[0], acc[1]), _mm512_xor_si512(acc[2], acc[3]));
    return (float)_mm512_reduce_add_epi32(sum);
}

// The same over 256-bit loads, two per cache line, for CPUs without AVX-512.
__attribute__((target("avx2"))) float xllm_peak_read256(const void *p, int64_t bytes, int64_t ahead) {
    const char *b = p;
    __m256i acc[4];
    for (int i = 0; i < 4; i++) acc[i] = _mm256_setzero_si256();
    for (int64_t i = 0; i + 256 <= bytes; i += 256) {
        if (ahead > 0) {
            for (int j = 0; j < 4; j++) _mm_prefetch(b + i + ahead + 64 * j, _MM_HINT_T0);
        }
        for (int j = 0; j < 4; j++) {
            acc[j] = _mm256_xor_si256(acc[j], _mm256_load_si256((const __m256i *)(b + i + 64 * j)));
            acc[j] = _mm256_xor_si256(acc[j], _mm256_load_si256((const __m256i *)(b + i + 64 * j + 32)));
        }
    }
    __m256i sum = _mm256_xor_si256(_mm256_xor_si256(acc[0], acc[1]), _mm256_xor_si256(acc[2], acc[3]));
    int32_t lanes[8];
    memcpy(lanes, &sum, sizeof lanes);
    return (float)lanes[0];
}
