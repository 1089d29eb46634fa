package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** CPUs named from their CPUID vendor, family and model, and the kernels each gets by its instructions. */
class CpuTargetTest {
    private static final int AVX512_ALL = CpuTarget.FEATURE_AVX512 | CpuTarget.FEATURE_VNNI | CpuTarget.FEATURE_BF16
            | CpuTarget.FEATURE_VBMI | CpuTarget.FEATURE_GFNI;
    private static final int AVX2_ALL = CpuTarget.FEATURE_AVX2 | CpuTarget.FEATURE_FMA | CpuTarget.FEATURE_F16C;

    @ParameterizedTest
    @CsvSource({
        "1, 25, 1, AMD Zen 3", "1, 25, 33, AMD Zen 3", "1, 25, 80, AMD Zen 3", "1, 25, 17, AMD Zen 4", "1, 25, 97, AMD Zen 4",
        "1, 25, 160, AMD Zen 4", "1, 26, 2, AMD Zen 5", "1, 26, 68, AMD Zen 5", "1, 23, 49, AMD Zen 2", "1, 23, 1, AMD Zen",
        "2, 6, 143, Intel Sapphire Rapids", "2, 6, 85, Intel Skylake-SP / Cascade Lake", "2, 6, 60, Intel Haswell",
        "2, 6, 151, Intel Alder Lake", "2, 6, 250, Intel family 6", "2, 19, 1, x86-64", "0, 6, 1, x86-64", "1, 25, 144, x86-64"})
    void namesTheMicroarchitecture(int vendor, int family, int model, String name) {
        assertEquals(name, CpuTarget.microarchitecture(vendor, family, model));
    }

    @Test
    void picksTheLibraryByTheInstructionsAndForcesAvx2OnAvx512() {
        CpuTarget zen4 = CpuTarget.of(CpuTarget.VENDOR_AMD, 25, 0x11, AVX512_ALL | AVX2_ALL);
        assertEquals(CpuTarget.Isa.AVX512, zen4.isa());
        assertEquals("AMD Zen 4", zen4.microarchitecture());
        CpuTarget forced = zen4.withIsa(CpuTarget.Isa.AVX2);
        assertEquals(CpuTarget.Isa.AVX2, forced.isa());
        assertEquals("AMD Zen 4", forced.microarchitecture());

        CpuTarget zen3 = CpuTarget.of(CpuTarget.VENDOR_AMD, 25, 1, AVX2_ALL);
        assertEquals(CpuTarget.Isa.AVX2, zen3.isa());
        assertEquals("native AVX2 for AMD Zen 3 (family 25, model 1): decode tile 8 rows (quantized: 8), prefetch 8 rows",
                zen3.describe());

        // AVX-512 without VNNI (Skylake-SP) runs the AVX2 kernels; without F16C nothing native runs
        assertEquals(CpuTarget.Isa.AVX2, CpuTarget.of(CpuTarget.VENDOR_INTEL, 6, 0x55, CpuTarget.FEATURE_AVX512 | AVX2_ALL).isa());
        assertEquals(CpuTarget.Isa.VECTOR_API, CpuTarget.of(CpuTarget.VENDOR_INTEL, 6, 0x3C, CpuTarget.FEATURE_AVX2 | CpuTarget.FEATURE_FMA).isa());
        assertTrue(CpuTarget.runs(AVX512_ALL | AVX2_ALL, CpuTarget.Isa.AVX2));
    }
}
