// What this CPU is: its kernels' instruction sets, and its vendor, family and model, which name its
// microarchitecture (the engine's CpuTarget). Built for baseline x86-64, so it runs anywhere.

#include <cpuid.h>
#include <string.h>

enum {
    FEATURE_AVX512 = 1, FEATURE_VNNI = 2, FEATURE_BF16 = 4, FEATURE_VBMI = 8, FEATURE_GFNI = 16,
    FEATURE_AVX2 = 32, FEATURE_FMA = 64, FEATURE_F16C = 128
};

int xllm_cpu_features(void) {
    __builtin_cpu_init();
    int f = 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        f |= FEATURE_AVX512;
        if (__builtin_cpu_supports("avx512vnni")) f |= FEATURE_VNNI;
        if (__builtin_cpu_supports("avx512bf16")) f |= FEATURE_BF16;
        if (__builtin_cpu_supports("avx512vbmi")) f |= FEATURE_VBMI;
        if (__builtin_cpu_supports("gfni")) f |= FEATURE_GFNI;
    }
    if (__builtin_cpu_supports("avx2")) f |= FEATURE_AVX2;
    if (__builtin_cpu_supports("fma")) f |= FEATURE_FMA;
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C)) f |= FEATURE_F16C;
    return f;
}

// 1: AuthenticAMD, 2: GenuineIntel, 0: any other vendor.
int xllm_cpu_vendor(void) {
    unsigned max, b, c, d;
    if (!__get_cpuid(0, &max, &b, &c, &d)) return 0;
    char id[13];
    memcpy(id, &b, 4);
    memcpy(id + 4, &d, 4);
    memcpy(id + 8, &c, 4);
    id[12] = 0;
    return strcmp(id, "AuthenticAMD") == 0 ? 1 : (strcmp(id, "GenuineIntel") == 0 ? 2 : 0);
}

// The display family and model (the base fields plus the extended ones where the base family is 15, or 6 for
// the model), as family << 8 | model; -1 without CPUID leaf 1.
int xllm_cpu_family_model(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return -1;
    unsigned family = (a >> 8) & 0xF, model = (a >> 4) & 0xF;
    if (family == 0xF) family += (a >> 20) & 0xFF;
    if (family == 0xF || family == 6 || family > 0xF) model |= ((a >> 16) & 0xF) << 4;
    return (int)(family << 8 | model);
}
