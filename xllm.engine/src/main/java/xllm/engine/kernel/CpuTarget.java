package xllm.engine.kernel;

/**
 * What the CPU is, for choosing kernels: its microarchitecture (named from the CPUID vendor, family and model),
 * the kernel library it runs, and that library's parameters for it (handed over once at start, see
 * {@code native/kernels.h}). The choice goes by the microarchitecture, not only by the instructions: two CPUs with
 * the same instructions (Zen 4's AVX-512 on 256-bit units, Zen 5's on 512-bit ones) can want different tiles.
 *
 * @param microarchitecture e.g. "AMD Zen 3", or "x86-64" when unknown
 * @param family            the CPUID display family (-1 when unknown)
 * @param model             the CPUID display model
 * @param isa               the kernels it runs
 * @param decodeRows        weight rows per tile of the float kernels for one token (4 or 8)
 * @param decodePanels      panels per tile of the quantized kernels for one token (1, 2 or 4)
 * @param prefetchRows      rows ahead of a float kernel's tile whose weights it prefetches for one token (0: none)
 */
public record CpuTarget(String microarchitecture, int family, int model, Isa isa, int decodeRows, int decodePanels, int prefetchRows) {

    /** The instruction sets with kernels of their own; each native one is a library of the same symbols. */
    public enum Isa {
        /** AVX-512 F/BW/VL with VNNI, BF16, VBMI and GFNI (libxllm_kernels.so: native/avx512). */
        AVX512("AVX-512", "libxllm_kernels.so", 16),
        /** AVX2 with FMA and F16C (libxllm_kernels_avx2.so: native/avx2). */
        AVX2("AVX2", "libxllm_kernels_avx2.so", 8),
        /** The Java Vector API kernels. */
        VECTOR_API("Vector API", null, 0);

        private final String label;
        private final String library;
        private final int panelRows;

        Isa(String label, String library, int panelRows) {
            this.label = label;
            this.library = library;
            this.panelRows = panelRows;
        }

        /** Rows per panel of its quantized kernels (native/panels.h). */
        int panelRows() {
            return panelRows;
        }

        public String label() {
            return label;
        }

        /** The resource file of its kernels; null for the Vector API. */
        String library() {
            return library;
        }
    }

    // xllm_cpu_features bits (native/cpu_features.c)
    static final int FEATURE_AVX512 = 1;
    static final int FEATURE_VNNI = 2;
    static final int FEATURE_BF16 = 4;
    static final int FEATURE_VBMI = 8;
    static final int FEATURE_GFNI = 16;
    static final int FEATURE_AVX2 = 32;
    static final int FEATURE_FMA = 64;
    static final int FEATURE_F16C = 128;
    private static final int AVX512_ALL = FEATURE_AVX512 | FEATURE_VNNI | FEATURE_BF16 | FEATURE_VBMI | FEATURE_GFNI;
    private static final int AVX2_ALL = FEATURE_AVX2 | FEATURE_FMA | FEATURE_F16C;

    static final int VENDOR_AMD = 1;
    static final int VENDOR_INTEL = 2;

    /** The target of a CPU from its CPUID vendor (1 AMD, 2 Intel, 0 other), family, model and feature bits. */
    static CpuTarget of(int vendor, int family, int model, int features) {
        Isa isa = (features & AVX512_ALL) == AVX512_ALL ? Isa.AVX512 : (features & AVX2_ALL) == AVX2_ALL ? Isa.AVX2 : Isa.VECTOR_API;
        return forIsa(microarchitecture(vendor, family, model), family, model, isa);
    }

    /** Whether a CPU of these feature bits can run {@code isa}'s kernels. */
    static boolean runs(int features, Isa isa) {
        return switch (isa) {
            case AVX512 -> (features & AVX512_ALL) == AVX512_ALL;
            case AVX2 -> (features & AVX2_ALL) == AVX2_ALL;
            case VECTOR_API -> true;
        };
    }

    /**
     * This target with its parameters overridden where {@code -Dxllm.kernels.decodeRows}, {@code .decodePanels} or
     * {@code .prefetchRows} are set: for measuring another CPU's best values.
     */
    CpuTarget withOverrides() {
        return new CpuTarget(microarchitecture, family, model, isa, Integer.getInteger("xllm.kernels.decodeRows", decodeRows),
                Integer.getInteger("xllm.kernels.decodePanels", decodePanels), Integer.getInteger("xllm.kernels.prefetchRows", prefetchRows));
    }

    /** This CPU running {@code other}'s kernels instead (e.g. AVX2 on an AVX-512 machine), with their parameters. */
    CpuTarget withIsa(Isa other) {
        return forIsa(microarchitecture, family, model, other);
    }

    /**
     * The parameters per target. AVX-512 (Zen 4, whose 512-bit operations run as two halves, Zen 5 and Intel, at
     * full width): 8 rows and 2 panels of 16 per decode tile, prefetching 8 rows ahead; the same for all of them
     * until measured otherwise (the decode tiles are bound by memory, not by the vector units' width). AVX2 (measured
     * on Zen 3): 8 rows per float decode tile (8 accumulators keep both FMA units busy within 16 registers) and one
     * panel of 8 rows per quantized one (two or four spill registers, Q8_0 losing a quarter of its speed),
     * prefetching 8 rows ahead.
     */
    private static CpuTarget forIsa(String microarchitecture, int family, int model, Isa isa) {
        return switch (isa) {
            case AVX512 -> new CpuTarget(microarchitecture, family, model, isa, 8, 2, 8);
            case AVX2 -> new CpuTarget(microarchitecture, family, model, isa, 8, 1, 8);
            case VECTOR_API -> new CpuTarget(microarchitecture, family, model, isa, 0, 0, 0);
        };
    }

    /** The microarchitecture's name from CPUID's vendor, display family and model; "x86-64" when not known here. */
    static String microarchitecture(int vendor, int family, int model) {
        if (vendor == VENDOR_AMD) {
            if (family == 0x17) {
                return model >= 0x30 ? "AMD Zen 2" : "AMD Zen";
            }
            if (family == 0x19) {
                if (model <= 0x0F || model >= 0x20 && model <= 0x5F) {
                    return "AMD Zen 3";
                }
                if (model <= 0x1F || model >= 0x60 && model <= 0x7F || model >= 0xA0 && model <= 0xAF) {
                    return "AMD Zen 4";
                }
            }
            if (family == 0x1A) {
                return "AMD Zen 5";
            }
        }
        if (vendor == VENDOR_INTEL && family == 6) {
            return switch (model) {
                case 0x3C, 0x3F, 0x45, 0x46 -> "Intel Haswell";
                case 0x3D, 0x47, 0x4F, 0x56 -> "Intel Broadwell";
                case 0x4E, 0x5E, 0x8E, 0x9E, 0xA5, 0xA6 -> "Intel Skylake";
                case 0x55 -> "Intel Skylake-SP / Cascade Lake";
                case 0x66 -> "Intel Cannon Lake";
                case 0x6A, 0x6C -> "Intel Ice Lake-SP";
                case 0x7D, 0x7E -> "Intel Ice Lake";
                case 0x8C, 0x8D -> "Intel Tiger Lake";
                case 0xA7 -> "Intel Rocket Lake";
                case 0x97, 0x9A -> "Intel Alder Lake";
                case 0xB7, 0xBA, 0xBF -> "Intel Raptor Lake";
                case 0xAA, 0xAC -> "Intel Meteor Lake";
                case 0x8F -> "Intel Sapphire Rapids";
                case 0xCF -> "Intel Emerald Rapids";
                case 0xAD, 0xAE -> "Intel Granite Rapids";
                case 0xAF -> "Intel Sierra Forest";
                default -> "Intel family 6";
            };
        }
        return "x86-64";
    }

    /** e.g. "native AVX2 for AMD Zen 3 (family 25, model 1): decode tile 8 rows (quantized: 8), prefetch 8 rows". */
    String describe() {
        String cpu = family < 0 ? microarchitecture : microarchitecture + " (family " + family + ", model " + model + ")";
        return "native " + isa.label() + " for " + cpu + ": decode tile " + decodeRows + " rows (quantized: " + decodePanels * isa.panelRows()
                + "), prefetch " + prefetchRows + " rows";
    }
}
