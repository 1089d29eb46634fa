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
import java.util.List;
import java.util.Optional;
import xllm.kv.files.PrivateFiles;

/**
 * The AVX-512 matrix kernels of {@code native/} (libxllm_kernels), bound through FFM. They are used when the
 * library is in this module (built with the project when gcc is there), the CPU has AVX-512 with VNNI, VBMI
 * and BF16, and GFNI (Zen 4, Sapphire Rapids and later), and {@code -Dxllm.kernels=java} has not asked for the Vector API kernels. The calls are
 * {@linkplain Linker.Option#critical critical}: short, no thread-state change, heap arrays passed in place.
 */
final class NativeKernels {
    private static final int FEATURE_AVX512 = 1;
    private static final int FEATURE_VNNI = 2;
    private static final int FEATURE_BF16 = 4;
    private static final int FEATURE_VBMI = 8;
    private static final int FEATURE_GFNI = 16;
    private static final String LIBRARY = "libxllm_kernels.so";

    /** Query heads one native attention call takes at most. */
    static final int ATTEND_HEADS = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    /** The library's symbols, or why the native kernels are not in use. */
    private static final Loaded LOADED = load();
    /** Kernels that could not be bound (a library older than this code): then none of them is used. */
    private static final List<String> UNBOUND = new ArrayList<>();

    // The kernels, with their C signatures. Arrays and matrices are pointers (heap arrays passed in place, or mapped
    // weights); offsets and strides count floats.
    /** pack(x, xOffset, xStride, tokenStart, tokenEnd, cols, packed) */
    private static final FunctionDescriptor PACK = ofVoid(ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    /** packedBytes(tokens, cols) */
    private static final FunctionDescriptor PACKED_BYTES = of(JAVA_LONG, JAVA_INT, JAVA_INT);
    /** gemm(weights or panels, cols, packed, tokens, out, outOffset, outStride, rowStart, rowEnd) */
    private static final FunctionDescriptor PACKED_GEMM = ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT);
    /** gemm(weights, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd) */
    private static final FunctionDescriptor FLOAT_GEMM =
            ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT);
    private static final MethodHandle PACK_Q8 = critical("xllm_pack_q8", PACK);
    private static final MethodHandle PACK_BF16 = critical("xllm_pack_bf16", PACK);
    private static final MethodHandle Q8_PACKED_BYTES = critical("xllm_q8_packed_bytes", PACKED_BYTES);
    private static final MethodHandle BF16_PACKED_BYTES = critical("xllm_bf16_packed_bytes", PACKED_BYTES);
    private static final MethodHandle Q8_GEMM = critical("xllm_q8_gemm", PACKED_GEMM);
    private static final MethodHandle Q4_GEMM = critical("xllm_q4_gemm", PACKED_GEMM);
    private static final MethodHandle BF16_GEMM = critical("xllm_bf16_gemm", PACKED_GEMM);
    private static final MethodHandle F32_GEMM = critical("xllm_f32_gemm", FLOAT_GEMM);
    private static final MethodHandle BF16_F32_GEMM = critical("xllm_bf16_f32_gemm", FLOAT_GEMM);
    // panelBytes(q4, rows, cols); repack(q4, src, rowBytes, rows, cols, rowStart, rowEnd, dst): at load, so not critical
    private static final MethodHandle PANEL_BYTES = atLoad("xllm_panel_bytes", of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle REPACK = atLoad("xllm_repack", ofVoid(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    // attend(kv, f16, blocks, blockStride, layerOffset, blockSize, context, kvDim, headDim, kvHead, heads, q, qOffset, scale,
    //        scores, scoresStride, out, outOffset)
    private static final MethodHandle ATTEND = critical("xllm_attend", ofVoid(ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
    // siluMul(gate, gateOffset, up, upOffset, n)
    private static final MethodHandle SILU_MUL = critical("xllm_silu_mul", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
    // rmsNorm(x, xOffset, weight, eps, out, outOffset, n)
    private static final MethodHandle RMS_NORM = critical("xllm_rms_norm", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_FLOAT, ADDRESS, JAVA_LONG, JAVA_LONG));
    // add(y, yOffset, x, xOffset, n)
    private static final MethodHandle ADD = critical("xllm_add", ofVoid(ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));

    /** Why the native kernels are not in use, or null when they are; declared after the table, which it checks. */
    private static final String UNAVAILABLE = LOADED.unavailable() != null ? LOADED.unavailable()
            : UNBOUND.isEmpty() ? null : "loading " + LIBRARY + " failed: " + String.join("; ", UNBOUND);

    /** The library's symbols when they are to be used; else null symbols and the reason. */
    private record Loaded(SymbolLookup symbols, String unavailable) {
    }

    private static Loaded load() {
        if ("java".equals(System.getProperty("xllm.kernels"))) {
            return new Loaded(null, "-Dxllm.kernels=java");
        }
        try {
            Optional<SymbolLookup> lookup = library();
            if (lookup.isEmpty()) {
                return new Loaded(null, LIBRARY + " is not built");
            }
            MethodHandle features = LINKER.downcallHandle(lookup.get().findOrThrow("xllm_cpu_features"), of(JAVA_INT));
            int f = (int) features.invokeExact();
            int needed = FEATURE_AVX512 | FEATURE_VNNI | FEATURE_BF16 | FEATURE_VBMI | FEATURE_GFNI;
            if ((f & needed) != needed) {
                return new Loaded(null, "the CPU lacks AVX-512 VNNI, VBMI, BF16 or GFNI");
            }
            return new Loaded(lookup.get(), null);
        } catch (Throwable e) {
            return new Loaded(null, "loading " + LIBRARY + " failed: " + e);
        }
    }

    /** A kernel of the step's hot path: short, no thread-state change, heap arrays passed in place. */
    private static MethodHandle critical(String name, FunctionDescriptor signature) {
        return bind(name, signature, Linker.Option.critical(true));
    }

    /** A call made while loading weights, long enough that it should not hold up a safepoint. */
    private static MethodHandle atLoad(String name, FunctionDescriptor signature) {
        return bind(name, signature);
    }

    /** The downcall to {@code name}, or null when the library is not in use or it fails to bind (noted in {@link #UNBOUND}). */
    private static MethodHandle bind(String name, FunctionDescriptor signature, Linker.Option... options) {
        if (LOADED.symbols() == null) {
            return null;
        }
        try {
            return LINKER.downcallHandle(LOADED.symbols().findOrThrow(name), signature, options);
        } catch (RuntimeException e) {
            UNBOUND.add(e.toString());
            return null;
        }
    }

    private NativeKernels() {
    }

    static boolean available() {
        return UNAVAILABLE == null;
    }

    /** "native (AVX-512 VNNI/BF16)" or why the Vector API kernels run instead. */
    static String description() {
        return available() ? "native (AVX-512 VNNI, VBMI, BF16, GFNI)" : "Vector API (" + UNAVAILABLE + ")";
    }

    /**
     * The library from this module's resources. A loader needs a file: it is written owner-only into a new
     * directory of this process's own (mode 700, so no other user can swap it), loaded, and deleted at once,
     * which Linux allows for a loaded library.
     */
    private static Optional<SymbolLookup> library() throws IOException {
        String override = System.getProperty("xllm.kernels.library");
        if (override != null) {
            return Optional.of(SymbolLookup.libraryLookup(Path.of(override), Arena.global()));
        }
        try (InputStream in = NativeKernels.class.getResourceAsStream(LIBRARY)) {
            if (in == null) {
                return Optional.empty();
            }
            Path dir = Files.createTempDirectory("xllm-kernels-");
            Path file = dir.resolve(LIBRARY);
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

    static long q8PackedBytes(int tokens, int cols) {
        try {
            return (long) Q8_PACKED_BYTES.invokeExact(tokens, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static long bf16PackedBytes(int tokens, int cols) {
        try {
            return (long) BF16_PACKED_BYTES.invokeExact(tokens, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Tokens {@code [start, end)} of {@code x[xOffset + t*cols ...]} quantized to int8 blocks into {@code packed}. */
    static void packQ8(float[] x, int xOffset, int start, int end, int cols, MemorySegment packed) {
        try {
            PACK_Q8.invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Tokens {@code [start, end)} of {@code x[xOffset + t*cols ...]} rounded to bf16 into {@code packed}. */
    static void packBf16(float[] x, int xOffset, int start, int end, int cols, MemorySegment packed) {
        try {
            PACK_BF16.invokeExact(MemorySegment.ofArray(x), (long) xOffset, (long) cols, start, end, cols, packed);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Bytes of a Q8_0 or Q4_0 matrix repacked into panels of 16 rows (see quant_panels.c). */
    static long panelBytes(boolean q4, int rows, int cols) {
        try {
            return (long) PANEL_BYTES.invokeExact(q4 ? 1 : 0, rows, cols);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Rows {@code [rowStart, rowEnd)} (a multiple of 16 from the start) of GGUF blocks {@code w} into {@code panels}. */
    static void repack(boolean q4, MemorySegment w, long rowBytes, int rows, int cols, int rowStart, int rowEnd, MemorySegment panels) {
        try {
            REPACK.invokeExact(q4 ? 1 : 0, w, rowBytes, rows, cols, rowStart, rowEnd, panels);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void quantizedGemm(boolean q4, MemorySegment panels, int cols, MemorySegment packed, int tokens,
                              float[] out, int outOffset, int outStride, int rowStart, int rowEnd) {
        try {
            if (q4) {
                Q4_GEMM.invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
            } else {
                Q8_GEMM.invokeExact(panels, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void bf16Gemm(MemorySegment w, int cols, MemorySegment packed, int tokens, float[] out, int outOffset, int outStride,
                         int rowStart, int rowEnd) {
        try {
            BF16_GEMM.invokeExact(w, cols, packed, tokens, MemorySegment.ofArray(out), (long) outOffset, (long) outStride, rowStart, rowEnd);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    static void f32Gemm(MemorySegment w, int cols, float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride,
                        int rowStart, int rowEnd) {
        floatGemm(F32_GEMM, w, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
    }

    /** BF16 weights against float activations read in place, as {@link #f32Gemm}. */
    static void bf16F32Gemm(MemorySegment w, int cols, float[] x, int xOffset, int tokens, float[] out, int outOffset, int outStride,
                            int rowStart, int rowEnd) {
        floatGemm(BF16_F32_GEMM, w, cols, x, xOffset, tokens, out, outOffset, outStride, rowStart, rowEnd);
    }

    private static void floatGemm(MethodHandle kernel, MemorySegment w, int cols, float[] x, int xOffset, int tokens, float[] out,
                                  int outOffset, int outStride, int rowStart, int rowEnd) {
        try {
            kernel.invokeExact(w, cols, MemorySegment.ofArray(x), (long) xOffset, tokens, MemorySegment.ofArray(out), (long) outOffset,
                    (long) outStride, rowStart, rowEnd);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Up to {@link #ATTEND_HEADS} query heads sharing KV head {@code kvHead}, one after another in {@code q} and
     * {@code out}, over a sequence's paged blocks (see attention.c); {@code scores} holds a row of
     * {@code scoresStride} floats per head. The cache holds f16 elements when {@code f16}, else floats.
     */
    static void attend(MemorySegment kv, boolean f16, int[] blocks, long blockStride, long layerOffset, int blockSize, int context, int kvDim,
                       int headDim, int kvHead, int heads, float[] q, int qOffset, float scale, float[] scores, int scoresStride,
                       float[] out, int outOffset) {
        if (heads < 1 || heads > ATTEND_HEADS) {
            throw new IllegalArgumentException("attention takes 1 to " + ATTEND_HEADS + " heads per call, got " + heads);
        }
        try {
            ATTEND.invokeExact(kv, f16 ? 1 : 0, MemorySegment.ofArray(blocks), blockStride, layerOffset, blockSize, context, kvDim, headDim, kvHead,
                    heads, MemorySegment.ofArray(q), (long) qOffset, scale, MemorySegment.ofArray(scores), (long) scoresStride,
                    MemorySegment.ofArray(out), (long) outOffset);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} over {@code [offset, offset + n)} of both (see elementwise.c). */
    static void siluMul(float[] gate, float[] up, int offset, int n) {
        try {
            SILU_MUL.invokeExact(MemorySegment.ofArray(gate), (long) offset, MemorySegment.ofArray(up), (long) offset, (long) n);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code out[o..o+n) = x[i..i+n) / rms(x) * weight} (see elementwise.c). */
    static void rmsNorm(float[] x, int xOffset, float[] weight, float eps, float[] out, int outOffset, int n) {
        try {
            RMS_NORM.invokeExact(MemorySegment.ofArray(x), (long) xOffset, MemorySegment.ofArray(weight), eps, MemorySegment.ofArray(out),
                    (long) outOffset, (long) n);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code y[yOffset + i] += x[xOffset + i]} for {@code i < n}. */
    static void add(float[] y, int yOffset, float[] x, int xOffset, int n) {
        try {
            ADD.invokeExact(MemorySegment.ofArray(y), (long) yOffset, MemorySegment.ofArray(x), (long) xOffset, (long) n);
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
