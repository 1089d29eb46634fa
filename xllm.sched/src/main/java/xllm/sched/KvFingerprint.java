package xllm.sched;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.stream.Stream;
import xllm.kv.PageArena;

/**
 * What KV blocks on disk must agree on to be loaded: the model (its config, and each weight file's size and
 * bytes sampled across it, so a fine-tune of the same shape differs), how it runs (quantization, activation
 * precision) and the KV layout. A digest of them, as 64 bits.
 */
final class KvFingerprint {
    /** Bytes read at each of a few places in every weight file. */
    private static final int SAMPLE = 64 << 10;
    private static final int SAMPLES = 8;

    private KvFingerprint() {
    }

    static long of(Path model, String runsAs, PageArena layout) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(runsAs.getBytes(StandardCharsets.UTF_8));
            d.update(("layout " + layout.blockSize() + " " + layout.numLayers() + " " + layout.floatsPerSlot() + " " + layout.dtype())
                    .getBytes(StandardCharsets.UTF_8));
            for (Path f : files(model)) {
                d.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                sample(f, d);
            }
            return ByteBuffer.wrap(d.digest()).getLong();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model to fingerprint its KV blocks: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The model's files that decide its KV: a .gguf file itself, or a directory's config and weights. */
    private static List<Path> files(Path model) throws IOException {
        if (!Files.isDirectory(model)) {
            return List.of(model);
        }
        try (Stream<Path> s = Files.list(model)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.equals("config.json") || n.endsWith(".safetensors") || n.endsWith(".gguf");
            }).sorted().toList();
        }
    }

    private static void sample(Path file, MessageDigest d) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            d.update(ByteBuffer.allocate(8).putLong(0, size));
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(SAMPLE, size));
            for (int i = 0; i < SAMPLES; i++) {
                long at = size <= SAMPLE ? 0 : (size - SAMPLE) / (SAMPLES - 1) * i;
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, at + buf.position()) > 0) {
                    // reads until the sample is full or the file ends
                }
                d.update(buf.flip());
                if (size <= SAMPLE) {
                    return;
                }
            }
        }
    }
}
