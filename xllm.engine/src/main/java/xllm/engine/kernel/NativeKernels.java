package xllm.engine.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

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

    private static final MethodHandle PACK_Q8;
    private static final MethodHandle Q8_PACKED_BYTES;
    private static final MethodHandle Q8_GEMM;
    private static final MethodHandle Q4_GEMM;
    private static final MethodHandle PACK_BF16;
    private static final MethodHandle BF16_PACKED_BYTES;
    private static final MethodHandle BF16_GEMM;
    private static final MethodHandle F32_GEMM;
    private static final MethodHandle BF16_F32_GEMM;
    private static final MethodHandle PANEL_BYTES;
    private static final MethodHandle REPACK;
    private static final MethodHandle ATTEND;
    private static final MethodHandle SILU_MUL;
    private static final MethodHandle RMS_NORM;
    private static final MethodHandle ADD;
    /** Query heads one native attention call takes at most. */
    static final int ATTEND_HEADS = 4;
    /** Why the native kernels are not in use, or null when they are. */
    private static final String UNAVAILABLE;

    static {
        MethodHandle[] h = new MethodHandle[15];
        String why = null;
        try {
            Optional<SymbolLookup> lookup = "java".equals(System.getProperty("xllm.kernels")) ? Optional.empty() : library();
            if (lookup.isEmpty()) {
                why = "java".equals(System.getProperty("xllm.kernels")) ? "-Dxllm.kernels=java" : LIBRARY + " is not built";
            } else {
                Linker linker = Linker.nativeLinker();
                SymbolLookup lib = lookup.get();
                MethodHandle features = linker.downcallHandle(lib.findOrThrow("xllm_cpu_features"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
                int f = (int) features.invokeExact();
                int needed = FEATURE_AVX512 | FEATURE_VNNI | FEATURE_BF16 | FEATURE_VBMI | FEATURE_GFNI;
                if ((f & needed) != needed) {
                    why = "the CPU lacks AVX-512 VNNI, VBMI, BF16 or GFNI";
                } else {
                    Linker.Option critical = Linker.Option.critical(true);
                    ValueLayout.OfInt i = ValueLayout.JAVA_INT;
                    ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
                    ValueLayout p = ValueLayout.ADDRESS;
                    // pack(x, xOffsetFloats, xStride, tokenStart, tokenEnd, cols, out)
                    FunctionDescriptor pack = FunctionDescriptor.ofVoid(p, l, l, i, i, i, p);
                    FunctionDescriptor bytes = FunctionDescriptor.of(l, i, i);
                    h[0] = linker.downcallHandle(lib.findOrThrow("xllm_pack_q8"), pack, critical);
                    h[1] = linker.downcallHandle(lib.findOrThrow("xllm_q8_packed_bytes"), bytes, critical);
                    // gemm(panels, cols, packed, tokens, out, outOffsetFloats, outStride, rowStart, rowEnd)
                    FunctionDescriptor quant = FunctionDescriptor.ofVoid(p, i, p, i, p, l, l, i, i);
                    h[2] = linker.downcallHandle(lib.findOrThrow("xllm_q8_gemm"), quant, critical);
                    h[3] = linker.downcallHandle(lib.findOrThrow("xllm_q4_gemm"), quant, critical);
                    h[4] = linker.downcallHandle(lib.findOrThrow("xllm_pack_bf16"), pack, critical);
                    h[5] = linker.downcallHandle(lib.findOrThrow("xllm_bf16_packed_bytes"), bytes, critical);
                    // gemm(w, cols, packed, tokens, out, outOffsetFloats, outStride, rowStart, rowEnd)
                    h[6] = linker.downcallHandle(lib.findOrThrow("xllm_bf16_gemm"), FunctionDescriptor.ofVoid(p, i, p, i, p, l, l, i, i), critical);
                    // gemm(w, cols, x, xOffsetFloats, tokens, out, outOffsetFloats, outStride, rowStart, rowEnd)
                    h[7] = linker.downcallHandle(lib.findOrThrow("xllm_f32_gemm"), FunctionDescriptor.ofVoid(p, i, p, l, i, p, l, l, i, i), critical);
                    h[14] = linker.downcallHandle(lib.findOrThrow("xllm_bf16_f32_gemm"), FunctionDescriptor.ofVoid(p, i, p, l, i, p, l, l, i, i), critical);
                    // panelBytes(q4, rows, cols); repack(q4, src, rowBytes, rows, cols, rowStart, rowEnd, dst): at load, not critical
                    h[8] = linker.downcallHandle(lib.findOrThrow("xllm_panel_bytes"), FunctionDescriptor.of(l, i, i, i));
                    h[9] = linker.downcallHandle(lib.findOrThrow("xllm_repack"), FunctionDescriptor.ofVoid(i, p, l, i, i, i, i, p));
                    // attend(kv, f16, blocks, blockStride, layerOffset, blockSize, context, kvDim, headDim, kvHead, heads, q,
                    //        qOffset, scale, scores, scoresStride, out, outOffset)
                    h[10] = linker.downcallHandle(lib.findOrThrow("xllm_attend"),
                            FunctionDescriptor.ofVoid(p, i, p, l, l, i, i, i, i, i, i, p, l, ValueLayout.JAVA_FLOAT, p, l, p, l), critical);
                    // siluMul(gate, gateOffset, up, upOffset, n)
                    h[11] = linker.downcallHandle(lib.findOrThrow("xllm_silu_mul"), FunctionDescriptor.ofVoid(p, l, p, l, l), critical);
                    // rmsNorm(x, xOffset, weight, eps, out, outOffset, n); add(y, yOffset, x, xOffset, n)
                    h[12] = linker.downcallHandle(lib.findOrThrow("xllm_rms_norm"),
                            FunctionDescriptor.ofVoid(p, l, p, ValueLayout.JAVA_FLOAT, p, l, l), critical);
                    h[13] = linker.downcallHandle(lib.findOrThrow("xllm_add"), FunctionDescriptor.ofVoid(p, l, p, l, l), critical);
                }
            }
        } catch (Throwable e) {
            why = "loading " + LIBRARY + " failed: " + e;
        }
        UNAVAILABLE = why;
        PACK_Q8 = h[0];
        Q8_PACKED_BYTES = h[1];
        Q8_GEMM = h[2];
        Q4_GEMM = h[3];
        PACK_BF16 = h[4];
        BF16_PACKED_BYTES = h[5];
        BF16_GEMM = h[6];
        F32_GEMM = h[7];
        BF16_F32_GEMM = h[14];
        PANEL_BYTES = h[8];
        REPACK = h[9];
        ATTEND = h[10];
        SILU_MUL = h[11];
        RMS_NORM = h[12];
        ADD = h[13];
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
     * The library from this module's resources. A loader needs a file: it is written into a directory of
     * this process's own (owner-only, so no other user can swap it), loaded, and deleted at once, which
     * Linux allows for a loaded library.
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
                Files.copy(in, file);
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
