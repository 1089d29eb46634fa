package xllm.engine.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped read-only. The file is untrusted: the header length, every
 * offset, every shape and every dtype are checked against the file before a tensor view is handed out.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** A header over 100 MB is not a real checkpoint; refuse before allocating for it. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private SafetensorsFile(Path path, Arena arena, Map<String, Tensor> tensors) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
    }

    /** Maps {@code path} into {@code arena} and validates its header; the views live as long as the arena. */
    public static SafetensorsFile open(Path path, Arena arena) {
        MemorySegment file;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (IOException e) {
            throw new ModelFileException(path, "cannot read: " + e.getMessage(), e);
        }
        return new SafetensorsFile(path, arena, parse(path, file));
    }

    private static Map<String, Tensor> parse(Path path, MemorySegment file) {
        long size = file.byteSize();
        if (size < 8) {
            throw new ModelFileException(path, "truncated: " + size + " bytes, too short for the 8-byte header length");
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
            throw new ModelFileException(path, "header length " + headerLen + " is invalid for a file of " + size + " bytes");
        }
        byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new ModelFileException(path, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw new ModelFileException(path, "header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        MemorySegment data = file.asSlice(dataStart, dataSize);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            tensors.put(e.getKey(), tensor(path, e.getKey(), e.getValue(), data));
        }
        return Collections.unmodifiableMap(tensors);
    }

    private static Tensor tensor(Path path, String name, JsonNode entry, MemorySegment data) {
        String what = "tensor " + name;
        if (!entry.isObject()) {
            throw new ModelFileException(path, what + ": entry is not an object");
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ModelFileException(path, what + ": missing dtype");
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.asText()).orElseThrow(() ->
                new ModelFileException(path, what + ": unsupported dtype " + dtypeNode.asText()
                        + " (supported: F32, BF16, F16, F8_E4M3)"));
        JsonNode shapeNode = entry.get("shape");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > 8) {
            throw new ModelFileException(path, what + ": missing or invalid shape");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelFileException(path, what + ": invalid dimension " + d);
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new ModelFileException(path, what + ": shape overflows");
            }
        }
        JsonNode offsets = entry.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new ModelFileException(path, what + ": missing or invalid data_offsets");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin || end > data.byteSize()) {
            throw new ModelFileException(path, what + ": data_offsets [" + begin + ", " + end
                    + "] lie outside the data section of " + data.byteSize() + " bytes (file truncated?)");
        }
        long expectedBytes;
        try {
            expectedBytes = dtype.byteSize(elements);
        } catch (ArithmeticException overflow) {
            throw new ModelFileException(path, what + ": shape overflows");
        }
        if (end - begin != expectedBytes) {
            throw new ModelFileException(path, what + ": shape " + java.util.Arrays.toString(shape) + " of " + dtype
                    + " needs " + expectedBytes + " bytes but data_offsets span " + (end - begin));
        }
        return new Tensor(name, dtype, shape, data.asSlice(begin, end - begin));
    }

    public Path path() {
        return path;
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** Unmaps the file; only for files opened with their own arena. */
    @Override
    public void close() {
        arena.close();
    }
}
