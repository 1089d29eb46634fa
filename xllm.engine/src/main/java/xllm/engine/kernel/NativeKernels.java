package xllm.engine.kernel;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.FunctionDescriptor.ofVoid;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import xllm.kv.files.PrivateFiles;

/**
 * The native matrix kernels of {@code native/}, bound through FFM: one library per instruction set, all with the
 * same symbols and semantics (libxllm_kernels.so for AVX-512 VNNI, VBMI, BF16 and GFNI; libxllm_kernels_avx2.so
 * for AVX2, FMA and F16C), each an instance of this class. Which one the engine uses ({@link #active()}) is chosen
 * by what the CPU is ({@link CpuTarget}, from CPUID through the library's baseline-built cpu_features.c), and the
 * library is configured with that target's parameters before any kernel runs. {@code -Dxllm.kernels=java} asks for
 * the Vector API kernels instead, {@code -Dxllm.kernels=avx2} for the AVX2 library on an AVX-512 machine. The hot
 * calls are {@linkplain Linker.Option#critical critical}: short, no thread-state change, heap arrays passed in
 * place.
 *
 * <p>A record, as is {@link Handles}: the JIT trusts a record's final fields, so the active library's handles,
 * read through a static final ({@code ACTIVE}), are constants (see the hot calls).
 *
 * @param target the CPU and parameters the library is configured for
 * @param h the library's kernels
 */
record NativeKernels(CpuTarget target, Handles h) {
    /** Query heads one native attention call takes at most. */
    static final int ATTEND_HEADS = 4;

    private static final Linker LINKER = Linker.nativeLinker();

    // The kernels' C signatures. Arrays and matrices are pointers (heap arrays passed in place, or mapped weights);
    // offsets and strides count floats.
    /** pack(x, xOffset, xStride, tokenStart, tokenEnd, cols, packed) */
    private static final FunctionDescriptor PACK = ofVoid(ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    /** packedBytes(tokens, cols) */
    private static final FunctionDescriptor PACKED_BYTES = of(JAVA_LONG, JAVA_INT, JAVA_INT);
    /** gemm(weights or panels, cols, packed, tokens, out, outOffset, outStride, rowStart, rowEnd) */
    private static final FunctionDescriptor PACKED_GEMM = ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT);
    /** gemm(weights, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd) */
    private static final FunctionDescriptor FLOAT_GEMM =
            ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT);

    /** What this CPU is and which library, if any, the engine uses on it; or why none. */
    private record Selection(CpuTarget target, NativeKernels kernels, int features, String unavailable) {
    }

    private static final Selection SELECTION = select();
    /**
     * The active library, or null. Every hot call takes its handles from here when it is that library: a static
     * final record whose record fields are trusted, so the JIT sees constant handles, inlines the downcall and
     * never allocates the heap segments wrapping the arrays, even where the call is compiled on its own.
     */
    private static final NativeKernels ACTIVE = SELECTION.kernels();

    /**
     * One library's kernels. panelBytes(q4, rows, cols), repack(q4, src, rowBytes, rows, cols, rowStart, rowEnd,
     * dst), bf16PanelBytes(rows, cols), bf16Repack(src, rows, cols, dst) and their f32 twins run at load, so they are not critical; attend(kv, f16, blocks, blockStride, layerOffset, blockSize, context,
     * kvDim, headDim, kvHead, heads, q, qOffset, scale, scores, scoresStride, out, outOffset); siluMul(gate,
     * gateOffset, up, upOffset, n); rmsNorm(x, xOffset, weight, eps, out, outOffset, n); add(y, yOffset, x, xOffset, n).
     */
    record Handles(MethodHandle packQ8, MethodHandle packBf16, MethodHandle q8PackedBytes, MethodHandle bf16PackedBytes,
                   MethodHandle q8Gemm, MethodHandle q4Gemm, MethodHandle bf16Gemm, MethodHandle f32Gemm, MethodHandle bf16F32Gemm,
                   MethodHandle panelBytes, MethodHandle repack, MethodHandle bf16PanelBytes, MethodHandle bf16Repack,
                   MethodHandle f32PanelBytes, MethodHandle f32Repack, MethodHandle attend, MethodHandle siluMul, MethodHandle rmsNorm, MethodHandle add) {
    }

    /** Binds every kernel of {@code symbols} and configures the library for {@code target}; fails if any is missing. */
    private static NativeKernels bind(SymbolLookup symbols, CpuTarget target) throws Throwable {
        Handles h = new Handles(
                critical(symbols, "xllm_pack_q8", PACK),
                critical(symbols, "xllm_pack_bf16", PACK),
                critical(symbols, "xllm_q8_packed_bytes", PACKED_BYTES),
                critical(symbols, "xllm_bf16_packed_bytes", PACKED_BYTES),
                critical(symbols, "xllm_q8_gemm", PACKED_GEMM),
                critical(symbols, "xllm_q4_gemm", PACKED_GEMM),
                critical(symbols, "xllm_bf16_gemm", PACKED_GEMM),
                critical(symbols, "xllm_f32_gemm", FLOAT_GEMM),
                critical(symbols, "xllm_bf16_f32_gemm", FLOAT_GEMM),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_panel_bytes"), of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT)),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_repack"),
                        ofVoid(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS)),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_bf16_panel_bytes"), of(JAVA_LONG, JAVA_INT, JAVA_INT)),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_bf16_repack"), ofVoid(ADDRESS, JAVA_INT, JAVA_INT, ADDRESS)),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_f32_panel_bytes"), of(JAVA_LONG, JAVA_INT, JAVA_INT)),
                LINKER.downcallHandle(symbols.findOrThrow("xllm_f32_repack"), ofVoid(ADDRESS, JAVA_INT, JAVA_INT, ADDRESS)),
                critical(symbols, "xllm_attend", ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                        JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG)),
                critical(symbols, "xllm_silu_mul", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG)),
                critical(symbols, "xllm_rms_norm", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_FLOAT, ADDRESS, JAVA_LONG, JAVA_LONG)),
                critical(symbols, "xllm_add", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG)));
        MethodHandle configure = LINKER.downcallHandle(symbols.findOrThrow("xllm_configure"), ofVoid(JAVA_INT, JAVA_INT, JAVA_INT));
        configure.invokeExact(target.decodeRows(), target.decodePanels(), target.prefetchRows());
        return new NativeKernels(target, h);
    }

    /** A kernel of the step's hot path: short, no thread-state change, heap arrays passed in place. */
    private static MethodHandle critical(SymbolLookup symbols, String name, FunctionDescriptor signature) {
        return LINKER.downcallHandle(symbols.findOrThrow(name), signature, Linker.Option.critical(true));
    }

    /**
     * This CPU's target and its library: the library's own choice unless {@code -Dxllm.kernels} says java, avx2 or
     * avx512; the Vector API kernels where no library is built or none runs here.
     */
    private static Selection select() {
        String choice = System.getProperty("xllm.kernels", "");
        if ("java".equals(choice)) {
            return new Selection(null, null, 0, "-Dxllm.kernels=java");
        }
        if (!choice.isEmpty() && !"avx2".equals(choice) && !"avx512".equals(choice)) {
            return new Selection(null, null, 0, "-Dxllm.kernels=" + choice + " is none of java, avx2, avx512");
        }
        try {
            // any library answers what the CPU is: cpu_features.c is built for baseline x86-64
            Optional<SymbolLookup> probe = Libraries.lookup(CpuTarget.Isa.AVX2);
            if (probe.isEmpty()) {
                probe = Libraries.lookup(CpuTarget.Isa.AVX512);
            }
            if (probe.isEmpty()) {
                return new Selection(null, null, 0, "libxllm_kernels is not built");
            }
            SymbolLookup cpu = probe.get();
            int features = (int) LINKER.downcallHandle(cpu.findOrThrow("xllm_cpu_features"), of(JAVA_INT)).invokeExact();
            int vendor = (int) LINKER.downcallHandle(cpu.findOrThrow("xllm_cpu_vendor"), of(JAVA_INT)).invokeExact();
            int familyModel = (int) LINKER.downcallHandle(cpu.findOrThrow("xllm_cpu_family_model"), of(JAVA_INT)).invokeExact();
            int family = familyModel < 0 ? -1 : familyModel >> 8;
            CpuTarget target = CpuTarget.of(vendor, family, familyModel & 0xFF, features);
            if (!choice.isEmpty()) {
                CpuTarget.Isa forced = "avx2".equals(choice) ? CpuTarget.Isa.AVX2 : CpuTarget.Isa.AVX512;
                if (!CpuTarget.runs(features, forced)) {
                    return new Selection(target, null, features, "-Dxllm.kernels=" + choice + ", but " + target.microarchitecture()
                            + " lacks " + (forced == CpuTarget.Isa.AVX2 ? "AVX2, FMA or F16C" : "AVX-512 VNNI, VBMI, BF16 or GFNI"));
                }
                target = target.withIsa(forced);
            }
            if (target.isa() == CpuTarget.Isa.VECTOR_API) {
                return new Selection(target, null, features, target.microarchitecture() + " lacks AVX-512 VNNI/VBMI/BF16/GFNI and AVX2/FMA/F16C");
            }
            return load(target.withOverrides(), features);
        } catch (Throwable e) {
            return new Selection(null, null, 0, "loading the native kernels failed: " + e);
        }
    }

    private static Selection load(CpuTarget target, int features) {
        String file = target.isa().library();
        try {
            Optional<SymbolLookup> symbols = Libraries.lookup(target.isa());
            if (symbols.isEmpty()) {
                return new Selection(target, null, features, file + " is not built");
            }
            return new Selection(target, bind(symbols.get(), target), features, null);
        } catch (Throwable e) {
            return new Selection(target, null, features, "loading " + file + " failed: " + e);
        }
    }

    /** The kernels the engine uses, or null where the Vector API kernels run. */
    static NativeKernels active() {
        return ACTIVE;
    }

    static boolean available() {
        return SELECTION.kernels() != null;
    }

    /**
     * Every native library this CPU can run, each configured for it (the active one among them): for tests, which
     * hold every path to the same expectations.
     */
    static List<NativeKernels> runnable() {
        return AllLibraries.ALL;
    }

    /** {@link #runnable()}, bound once. */
    private static final class AllLibraries {
        static final List<NativeKernels> ALL = List.copyOf(bindAll());
    }

    private static List<NativeKernels> bindAll() {
        List<NativeKernels> all = new ArrayList<>();
        CpuTarget cpu = SELECTION.target();
        if (cpu == null) {
            return all;
        }
        for (CpuTarget.Isa isa : CpuTarget.Isa.values()) {
            if (isa == CpuTarget.Isa.VECTOR_API || !CpuTarget.runs(SELECTION.features(), isa)) {
                continue;
            }
            if (active() != null && active().target.isa() == isa) {
                all.add(active());
                continue;
            }
            Selection s = load(cpu.withIsa(isa), SELECTION.features());
            if (s.kernels() == null) {
                throw new IllegalStateException(s.unavailable());
            }
            all.add(s.kernels());
        }
        return all;
    }

    /**
     * A peak-throughput loop of {@code native/peak.c} ({@code float loop(long iterations)}) from the active library,
     * when this CPU has every feature in {@code features}; empty otherwise. Not critical: a loop runs for long.
     */
    static Optional<MethodHandle> peakLoop(String symbol, int features) {
        return peakFunction(symbol, features, of(JAVA_FLOAT, JAVA_LONG));
    }

    /**
     * A read loop of {@code native/peak.c} ({@code float read(const void *p, long bytes, long ahead)}), as
     * {@link #peakLoop} finds one.
     */
    static Optional<MethodHandle> readLoop(String symbol, int features) {
        return peakFunction(symbol, features, of(JAVA_FLOAT, ADDRESS, JAVA_LONG, JAVA_LONG));
    }

    private static Optional<MethodHandle> peakFunction(String symbol, int features, FunctionDescriptor descriptor) {
        if (!available() || (SELECTION.features() & features) != features) {
            return Optional.empty();
        }
        try {
            return Libraries.lookup(active().target.isa()).flatMap(l -> l.find(symbol))
                    .map(address -> LINKER.downcallHandle(address, descriptor));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** e.g. "native AVX2 for AMD Zen 3 (family 25, model 1): decode tile 8 rows, ...", or why the Vector API kernels run. */
    static String description() {
        return available() ? active().target.describe() : "Vector API (" + SELECTION.unavailable() + ")";
    }


    @Override
    public String toString() {
        return target.isa().label();
    }

    /**
     * The libraries from this module's resources (or {@code -Dxllm.kernels.library}, a path, for the chosen one). A
     * loader needs a file: it is written owner-only into a new directory of this process's own (mode 700, so no
     * other user can swap it), loaded, and deleted at once, which Linux allows for a loaded library. Each load is
     * library of its own.
     */
    private static final class Libraries {
        private static final Map<CpuTarget.Isa, Optional<SymbolLookup>> LOADED = new EnumMap<>(CpuTarget.Isa.class);

        /** The library of {@code isa}, loaded once per process. */
        static synchronized Optional<SymbolLookup> lookup(CpuTarget.Isa isa) throws IOException {
            Optional<SymbolLookup> loaded = LOADED.get(isa);
            if (loaded == null) {
                loaded = load(isa);
                LOADED.put(isa, loaded);
            }
            return loaded;
        }

        private static Optional<SymbolLookup> load(CpuTarget.Isa isa) throws IOException {
            String override = System.getProperty("xllm.kernels.library");
            if (override != null) {
                return Optional.of(SymbolLookup.libraryLookup(Path.of(override), Arena.global()));
            }
            String name = isa.library();
            try (InputStream in = NativeKernels.class.getResourceAsStream(name)) {
                if (in == null) {
                    return Optional.empty();
                }
                Path dir = Files.createTempDirectory("xllm-kernels-");
                Path file = dir.resolve(name);
                try {
                    try (OutputStream out = Channels.newOutputStream(PrivateFiles.newFile(file))) {
                        in.transferTo(out);
                    }
                    return Optional.of(SymbolLookup.libraryLookup(file, Arena.global()));
                } finally {
                    Files.deleteIfExists(file);
                    Files.delete(dir);
                }
            }
        }
    }

    long q8PackedBytes(int tokens, int cols) {
        try {
            return (long) h.q8PackedBytes().invokeExact(tokens, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    long bf16PackedBytes(int tokens, int cols) {
        try {
            return (long) h.bf16PackedBytes().invokeExact(tokens, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Tokens {@code [start, end)} of {@code x[xOffset + t*cols ...]} quantized to int8 blocks into {@code packed}. */
    void packQ8(float[] x, int xOffset, int start, int end, int cols, MemorySegment packed) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.packQ8().invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
            } else {
                h.packQ8().invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Tokens {@code [start, end)} of {@code x[xOffset + t*cols ...]} rounded to bf16 into {@code packed}. */
    void packBf16(float[] x, int xOffset, int start, int end, int cols, MemorySegment packed) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.packBf16().invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
            } else {
                h.packBf16().invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Bytes of a Q8_0 or Q4_0 matrix repacked into this library's panels (see native/panels.h). */
    long panelBytes(boolean q4, int rows, int cols) {
        try {
            return (long) h.panelBytes().invokeExact(q4 ? 1 : 0, rows, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Bytes of a BF16 matrix repacked into this library's panels for {@link #bf16Gemm}; 0 when that kernel reads the
     * weights as stored.
     */
    long bf16PanelBytes(int rows, int cols) {
        return floatPanelBytes(h.bf16PanelBytes(), rows, cols);
    }

    /** BF16 weights {@code w} (row-major) into {@code panels} of {@link #bf16PanelBytes} bytes. */
    void bf16Repack(MemorySegment w, int rows, int cols, MemorySegment panels) {
        floatRepack(h.bf16Repack(), w, rows, cols, panels);
    }

    /** As {@link #bf16PanelBytes}, for F32 weights and {@link #f32Gemm}. */
    long f32PanelBytes(int rows, int cols) {
        return floatPanelBytes(h.f32PanelBytes(), rows, cols);
    }

    /** F32 weights {@code w} (row-major) into {@code panels} of {@link #f32PanelBytes} bytes. */
    void f32Repack(MemorySegment w, int rows, int cols, MemorySegment panels) {
        floatRepack(h.f32Repack(), w, rows, cols, panels);
    }

    /** {@code panelBytes(rows, cols)} of a float format's panels; called at load, so the handle need not be constant. */
    private static long floatPanelBytes(MethodHandle panelBytes, int rows, int cols) {
        try {
            return (long) panelBytes.invokeExact(rows, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code repack(w, rows, cols, panels)} of a float format; called at load. */
    private static void floatRepack(MethodHandle repack, MemorySegment w, int rows, int cols, MemorySegment panels) {
        try {
            repack.invokeExact(w, rows, cols, panels);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Rows {@code [rowStart, rowEnd)} (from a multiple of 16) of GGUF blocks {@code w} into {@code panels}. */
    void repack(boolean q4, MemorySegment w, long rowBytes, int rows, int cols, int rowStart, int rowEnd, MemorySegment panels) {
        try {
            h.repack().invokeExact(q4 ? 1 : 0, w, rowBytes, rows, cols, rowStart, rowEnd, panels);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void quantizedGemm(boolean q4, MemorySegment panels, int cols, MemorySegment packed, int tokens,
                              float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        try {
            if (q4) {
                if (this == ACTIVE) {
                    ACTIVE.h.q4Gemm().invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
                } else {
                    h.q4Gemm().invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
                }
            } else {
                if (this == ACTIVE) {
                    ACTIVE.h.q8Gemm().invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
                } else {
                    h.q8Gemm().invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
                }
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void bf16Gemm(MemorySegment w, int cols, MemorySegment packed, int tokens, float[] out, int outOffset, int outStride,
                         int rowStart, int rowEnd) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.bf16Gemm().invokeExact(w, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
            } else {
                h.bf16Gemm().invokeExact(w, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    void f32Gemm(MemorySegment w, int cols, float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride,
                        int rowStart, int rowEnd) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.f32Gemm().invokeExact(w, cols, MemorySegment.ofArray(x), (long) xOffset, tokens, MemorySegment.ofArray(out), (long) outOffset,
                        (long) outStride, rowStart, rowEnd);
            } else {
                h.f32Gemm().invokeExact(w, cols, MemorySegment.ofArray(x), (long) xOffset, tokens, MemorySegment.ofArray(out), (long) outOffset,
                        (long) outStride, rowStart, rowEnd);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** BF16 weights against float activations read in place, as {@link #f32Gemm}. */
    void bf16F32Gemm(MemorySegment w, int cols, float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride,
                            int rowStart, int rowEnd) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.bf16F32Gemm().invokeExact(w, cols, MemorySegment.ofArray(x), (long) xOffset, tokens, MemorySegment.ofArray(out),
                        (long) outOffset, (long) outStride, rowStart, rowEnd);
            } else {
                h.bf16F32Gemm().invokeExact(w, cols, MemorySegment.ofArray(x), (long) xOffset, tokens, MemorySegment.ofArray(out),
                        (long) outOffset, (long) outStride, rowStart, rowEnd);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Up to {@link #ATTEND_HEADS} query heads sharing KV head {@code kvHead}, one after another in {@code q} and
     * {@code out}, over a sequence's paged blocks (see attention.c); {@code scores} holds a row of
     * {@code scoresStride} floats per head. The cache holds f16 elements when {@code f16}, else floats.
     */
    void attend(MemorySegment kv, boolean f16, int[] blocks, long blockStride, long layerOffset, int blockSize, int context, int kvDim,
                       int headDim, int kvHead, int heads, float[] q, int qOffset, float scale, float[] scores, int scoresStride,
                       float[] out, int outOffset) {
        if (heads < 1 || heads > ATTEND_HEADS) {
            throw new IllegalArgumentException("attention takes 1 to " + ATTEND_HEADS + " heads per call, got " + heads);
        }
        try {
            if (this == ACTIVE) {
                ACTIVE.h.attend().invokeExact(kv, f16 ? 1 : 0, MemorySegment.ofArray(blocks), blockStride, layerOffset, blockSize, context, kvDim, headDim, kvHead,
                        heads, MemorySegment.ofArray(q), (long) qOffset, scale, MemorySegment.ofArray(scores), (long) scoresStride,
                        MemorySegment.ofArray(out), (long) outOffset);
            } else {
                h.attend().invokeExact(kv, f16 ? 1 : 0, MemorySegment.ofArray(blocks), blockStride, layerOffset, blockSize, context, kvDim, headDim, kvHead,
                        heads, MemorySegment.ofArray(q), (long) qOffset, scale, MemorySegment.ofArray(scores), (long) scoresStride,
                        MemorySegment.ofArray(out), (long) outOffset);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} over {@code [offset, offset + n)} of both (see elementwise.c). */
    void siluMul(float[] gate, float[] up, int offset, int n) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.siluMul().invokeExact(MemorySegment.ofArray(gate), (long) offset, MemorySegment.ofArray(up), (long) offset, (long) n);
            } else {
                h.siluMul().invokeExact(MemorySegment.ofArray(gate), (long) offset, MemorySegment.ofArray(up), (long) offset, (long) n);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code out[o..o+n) = x[i..i+n) / rms(x) * weight} (see elementwise.c). */
    void rmsNorm(float[] x, int xOffset, float[] weight, float eps, float[] out, int outOffset, int n) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.rmsNorm().invokeExact(MemorySegment.ofArray(x), (long) xOffset, MemorySegment.ofArray(weight), eps, MemorySegment.ofArray(out),
                        (long) outOffset, (long) n);
            } else {
                h.rmsNorm().invokeExact(MemorySegment.ofArray(x), (long) xOffset, MemorySegment.ofArray(weight), eps, MemorySegment.ofArray(out),
                        (long) outOffset, (long) n);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code y[yOffset + i] += x[xOffset + i]} for {@code i < n}. */
    void add(float[] y, int yOffset, float[] x, int xOffset, int n) {
        try {
            if (this == ACTIVE) {
                ACTIVE.h.add().invokeExact(MemorySegment.ofArray(y), (long) yOffset, MemorySegment.ofArray(x), (long) xOffset, (long) n);
            } else {
                h.add().invokeExact(MemorySegment.ofArray(y), (long) yOffset, MemorySegment.ofArray(x), (long) xOffset, (long) n);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            return r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(e);
    }
}
