package xllm.engine.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A GGUF (v2/v3) file, memory-mapped read-only: its metadata and its tensors as views of the mapping.
 * The file is untrusted: every length, count, offset and shape is checked against the file size before
 * use. Tensor shapes are given in the Hugging Face order (rows first), the reverse of GGUF's.
 */
public final class GgufFile implements WeightSource {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final long MAX_STRING = 64L << 20;
    private static final long MAX_COUNT = 1L << 28;

    private final Path path;
    private final Arena arena;
    private final Map<String, Object> metadata;
    private final Map<String, Tensor> tensors;

    private GgufFile(Path path, Arena arena, Map<String, Object> metadata, Map<String, Tensor> tensors) {
        this.path = path;
        this.arena = arena;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Whether {@code model} names a GGUF file ({@code .gguf}) rather than a Hugging Face directory: the one test
     * every loader of a model path makes.
     */
    public static boolean isGgufFile(Path model) {
        return Files.isRegularFile(model) && model.getFileName().toString().endsWith(".gguf");
    }

    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            Reader r = new Reader(path, file);
            if (file.byteSize() < 24 || r.u32() != MAGIC) {
                throw new ModelFileException(path, "not a GGUF file (bad magic or truncated header)");
            }
            int version = r.u32();
            if (version != 2 && version != 3) {
                throw new ModelFileException(path, "unsupported GGUF version " + version + " (supported: 2, 3)");
            }
            long tensorCount = r.count("tensor count");
            long kvCount = r.count("metadata count");
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = r.string();
                metadata.put(key, r.value(r.u32(), 0));
            }
            long alignment = metadata.get("general.alignment") instanceof Number n ? n.longValue() : 32;
            if (alignment <= 0 || alignment > (1 << 20) || Long.bitCount(alignment) != 1) {
                throw new ModelFileException(path, "general.alignment " + alignment + " is not a power of two");
            }
            record Info(String name, long[] shape, DType dtype, long offset, long bytes) {
            }
            List<Info> infos = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = r.string();
                int dims = r.u32();
                if (dims < 1 || dims > 4) {
                    throw new ModelFileException(path, "tensor " + name + " has " + dims + " dimensions (1 to 4 allowed)");
                }
                long[] shape = new long[dims];
                long elements = 1;
                for (int d = 0; d < dims; d++) {
                    long n = r.u64();
                    if (n <= 0 || n > (1L << 40)) {
                        throw new ModelFileException(path, "tensor " + name + " has invalid dimension " + n);
                    }
                    shape[dims - 1 - d] = n;
                    elements = Math.multiplyExact(elements, n);
                }
                int type = r.u32();
                DType dtype = DType.fromGgmlType(type).orElseThrow(() -> new ModelFileException(path,
                        "tensor " + name + " has unsupported ggml type " + type + " (supported: F32, F16, BF16, Q8_0, Q4_0)"));
                long bytes = dtype.byteSize(elements);
                if (bytes < 0 || (dtype.isBlockQuantized() && shape[dims - 1] % dtype.elementsPerBlock() != 0)) {
                    throw new ModelFileException(path, "tensor " + name + " shape " + Arrays.toString(shape)
                            + " does not fill whole " + dtype + " blocks");
                }
                infos.add(new Info(name, shape, dtype, r.u64(), bytes));
            }
            long dataStart = (r.position() + alignment - 1) / alignment * alignment;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Info info : infos) {
                long start = dataStart + info.offset();
                if (info.offset() < 0 || start < dataStart || start + info.bytes() > file.byteSize() || start + info.bytes() < start) {
                    throw new ModelFileException(path, "tensor " + info.name() + " at offset " + info.offset() + " with "
                            + info.bytes() + " bytes lies outside the file of " + file.byteSize() + " bytes (file truncated?)");
                }
                tensors.put(info.name(), new Tensor(info.name(), info.dtype(), info.shape(), file.asSlice(start, info.bytes())));
            }
            return new GgufFile(path, arena, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
        } catch (IOException e) {
            arena.close();
            throw new ModelFileException(path, "cannot read: " + e.getMessage(), e);
        } catch (ArithmeticException e) {
            arena.close();
            throw new ModelFileException(path, "sizes overflow");
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    public String string(String key) {
        Object v = metadata.get(key);
        if (!(v instanceof String s)) {
            throw new ModelFileException(path, "metadata " + key + " is missing or not a string");
        }
        return s;
    }

    public Optional<Number> number(String key) {
        return metadata.get(key) instanceof Number n ? Optional.of(n) : Optional.empty();
    }

    @Override
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public void close() {
        arena.close();
    }

    /** A bounds-checked little-endian cursor over the mapped file. */
    private static final class Reader {
        private final Path path;
        private final MemorySegment file;
        private long pos;

        Reader(Path path, MemorySegment file) {
            this.path = path;
            this.file = file;
        }

        long position() {
            return pos;
        }

        private void need(long n) {
            if (n < 0 || pos + n > file.byteSize()) {
                throw new ModelFileException(path, "truncated: needs " + n + " bytes at offset " + pos + " of " + file.byteSize());
            }
        }

        int u32() {
            need(4);
            int v = file.get(ValueLayout.JAVA_INT_UNALIGNED, pos);
            pos += 4;
            return v;
        }

        long u64() {
            need(8);
            long v = file.get(ValueLayout.JAVA_LONG_UNALIGNED, pos);
            pos += 8;
            return v;
        }

        long count(String what) {
            long n = u64();
            if (n < 0 || n > MAX_COUNT) {
                throw new ModelFileException(path, what + " " + n + " is implausible");
            }
            return n;
        }

        String string() {
            long n = u64();
            if (n < 0 || n > MAX_STRING) {
                throw new ModelFileException(path, "string length " + n + " at offset " + (pos - 8) + " is implausible");
            }
            need(n);
            byte[] bytes = file.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(int type, int depth) {
            return switch (type) {
                case 0, 1 -> { need(1); byte b = file.get(ValueLayout.JAVA_BYTE, pos++); yield type == 0 ? (b & 0xFF) : (int) b; }
                case 2, 3 -> { need(2); short s = file.get(ValueLayout.JAVA_SHORT_UNALIGNED, pos); pos += 2; yield type == 2 ? (s & 0xFFFF) : (int) s; }
                case 4 -> u32() & 0xFFFFFFFFL;
                case 5 -> u32();
                case 6 -> Float.intBitsToFloat(u32());
                case 7 -> { need(1); yield file.get(ValueLayout.JAVA_BYTE, pos++) != 0; }
                case 8 -> string();
                case 9 -> {
                    if (depth > 2) {
                        throw new ModelFileException(path, "metadata arrays nested too deeply");
                    }
                    int elementType = u32();
                    long n = count("array length");
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) {
                        list.add(value(elementType, depth + 1));
                    }
                    yield Collections.unmodifiableList(list);
                }
                case 10, 11 -> u64();
                case 12 -> Double.longBitsToDouble(u64());
                default -> throw new ModelFileException(path, "unknown metadata value type " + type + " at offset " + (pos - 4));
            };
        }
    }
}
