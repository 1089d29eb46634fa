package xllm.engine.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@code .safetensors} file whose tensors are produced row by row, so files larger than the heap
 * can be written (synthetic benchmark models). F32 and BF16 only.
 */
public final class SafetensorsWriter {
    /** Fills one row of a tensor being written. */
    @FunctionalInterface
    public interface RowSource {
        void fill(String name, long row, float[] values);
    }

    /** A tensor to write: its name, dtype and shape ({@code [rows, cols]} or {@code [n]}). */
    public record Spec(String name, DType dtype, long[] shape) {
        long rows() {
            return shape.length == 1 ? 1 : shape[0];
        }

        int cols() {
            return Math.toIntExact(shape[shape.length - 1]);
        }

        long bytes() {
            return rows() * cols() * dtype.bytesPerBlock();
        }
    }

    private SafetensorsWriter() {
    }

    public static void write(Path file, List<Spec> specs, RowSource source) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Spec s : specs) {
            if (s.dtype() != DType.F32 && s.dtype() != DType.BF16) {
                throw new IllegalArgumentException("can write F32 and BF16 only, not " + s.dtype());
            }
            ObjectNode entry = new ObjectMapper().createObjectNode();
            entry.put("dtype", s.dtype().name());
            entry.putPOJO("shape", s.shape());
            entry.putPOJO("data_offsets", new long[] {offset, offset + s.bytes()});
            header.put(s.name(), entry);
            offset += s.bytes();
        }
        byte[] json = new ObjectMapper().writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            head.flip();
            writeFully(out, head);
            for (Spec s : specs) {
                float[] row = new float[s.cols()];
                ByteBuffer buf = ByteBuffer.allocate(s.cols() * s.dtype().bytesPerBlock()).order(ByteOrder.LITTLE_ENDIAN);
                for (long r = 0; r < s.rows(); r++) {
                    source.fill(s.name(), r, row);
                    buf.clear();
                    for (float v : row) {
                        if (s.dtype() == DType.F32) {
                            buf.putFloat(v);
                        } else {
                            buf.putShort(toBf16(v));
                        }
                    }
                    buf.flip();
                    writeFully(out, buf);
                }
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    /** Round-to-nearest-even conversion, as torch does. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) 0x7FC0;
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
