// Which of the kernels' instruction sets this CPU has. Built for baseline x86-64, so it runs anywhere.

enum { FEATURE_AVX512 = 1, FEATURE_VNNI = 2, FEATURE_BF16 = 4, FEATURE_VBMI = 8, FEATURE_GFNI = 16 };

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
    return f;
}
