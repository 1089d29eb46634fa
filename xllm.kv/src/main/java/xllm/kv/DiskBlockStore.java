package xllm.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;
import xllm.kv.files.PrivateFiles;

/**
 * The disk tier of the prefix cache: full KV blocks in files named by their chained block hash, under a
 * directory per model and layout fingerprint, so that a prompt seen before a restart (or by a co-located
 * worker) loads its prefix instead of computing it again.
 *
 * <p>A block is offered when it becomes cached in memory: the engine thread copies it into a staging buffer
 * (a memcpy; dropped when all buffers are busy) and a writer thread writes it to a temporary file and renames
 * it into place, so a reader never sees a half-written block. Each file carries the fingerprint, its key,
 * its parent's key, the layout, the block's tokens and a CRC32C of tokens and KV; a load checks them all
 * against the prompt asking, so a torn, corrupt, foreign or colliding file is ignored (and removed), never
 * loaded. Files are kept within a size cap, least recently used first (a hit renews a file's time).
 *
 * <p>{@link #offer} and {@link #load} run on the engine thread; the rest is thread-safe.
 */
public final class DiskBlockStore implements AutoCloseable {
    private static final long MAGIC = 0x784c4c4d4b564231L; // "xLLMKVB1"
    private static final int HEADER_BYTES = 64;
    private static final String SUFFIX = ".kvb";
    /** A file being written: {@code <hash>.<writer's pid>.tmp}. */
    private static final String TMP_SUFFIX = ".tmp";
    /** How much memory the staging buffers take at most; at least a few blocks either way. */
    private static final long STAGING_BYTES = 64L << 20;

    private final Path dir;
    private final long capBytes;
    private final long fingerprint;
    private final int blockSize;
    private final int numLayers;
    private final int floatsPerSlot;
    private final KvDtype dtype;
    private final long blockBytes;
    private final int fileBytes;
    private final ArrayBlockingQueue<ByteBuffer> freeStaging;
    private final ArrayBlockingQueue<ByteBuffer> pending;
    /** The engine thread's buffer for loads. */
    private final ByteBuffer loadBuffer;
    private final Set<Long> onDisk = ConcurrentHashMap.newKeySet();
    private final AtomicLong diskBytes = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean paused;
    private volatile boolean closed;

    private DiskBlockStore(Path dir, long capBytes, long fingerprint, PageArena layout) {
        this.dir = dir;
        this.capBytes = capBytes;
        this.fingerprint = fingerprint;
        this.blockSize = layout.blockSize();
        this.numLayers = layout.numLayers();
        this.floatsPerSlot = layout.floatsPerSlot();
        this.dtype = layout.dtype();
        this.blockBytes = layout.blockBytes();
        this.fileBytes = Math.toIntExact(HEADER_BYTES + 4L * blockSize + blockBytes);
        int staging = (int) Math.max(4, Math.min(1024, STAGING_BYTES / fileBytes));
        this.freeStaging = new ArrayBlockingQueue<>(staging);
        for (int i = 0; i < staging; i++) {
            freeStaging.add(ByteBuffer.allocateDirect(fileBytes).order(ByteOrder.LITTLE_ENDIAN));
        }
        this.pending = new ArrayBlockingQueue<>(staging);
        this.loadBuffer = ByteBuffer.allocateDirect(fileBytes).order(ByteOrder.LITTLE_ENDIAN);
        this.writer = Thread.ofPlatform().name("xllm-kv-offload").daemon().unstarted(this::writeLoop);
    }

    /**
     * Opens the store for blocks laid out as {@code layout}'s under {@code root}, in the subdirectory of
     * {@code fingerprint} (the model, its weights and the KV layout: blocks of another are never looked at).
     *
     * @param capBytes the most the files of this fingerprint may take
     */
    public static DiskBlockStore open(Path root, long capBytes, long fingerprint, PageArena layout) {
        if (capBytes < 1) {
            throw new IllegalArgumentException("the KV offload size cap must be positive, got " + capBytes);
        }
        // owner-only, and an existing one only if it is ours: the files are prompts' KV, as private as the prompts
        Path dir = PrivateFiles.directory(PrivateFiles.directory(root).resolve(hex(fingerprint)));
        DiskBlockStore store = new DiskBlockStore(dir, capBytes, fingerprint, layout);
        store.scan();
        store.writer.start();
        return store;
    }

    /** Stops offering and loading (while an engine warms up on made-up prompts), or starts again. */
    public void pause(boolean value) {
        paused = value;
    }

    /**
     * Queues block {@code block} of {@code arena}, cached under {@code key} after {@code parentKey} and holding
     * {@code tokens[from .. from + blockSize)}, to be written; nothing when it is on disk already or no staging
     * buffer is free. Engine thread; copies the block, performs no I/O.
     */
    public void offer(long key, long parentKey, int[] tokens, int from, PageArena arena, int block) {
        if (paused || onDisk.contains(key)) {
            return;
        }
        ByteBuffer b = freeStaging.poll();
        if (b == null) {
            dropped.incrementAndGet();
            return;
        }
        b.clear();
        b.putLong(MAGIC).putLong(fingerprint).putLong(key).putLong(parentKey)
                .putInt(blockSize).putInt(numLayers).putInt(floatsPerSlot).putInt(dtype.ordinal()).putLong(blockBytes);
        b.position(HEADER_BYTES);
        for (int i = 0; i < blockSize; i++) {
            b.putInt(tokens[from + i]);
        }
        MemorySegment.copy(arena.memory(), block * blockBytes, whole(b), HEADER_BYTES + 4L * blockSize, blockBytes);
        b.limit(fileBytes).position(0);
        pending.add(b);
    }

    /**
     * Loads the block cached under {@code key} after {@code parentKey} holding {@code tokens[from ..
     * from + blockSize)} into block {@code block} of {@code arena}; false when there is none that matches in
     * every respect. Engine thread.
     */
    public boolean load(long key, long parentKey, int[] tokens, int from, PageArena arena, int block) {
        if (paused) {
            return false;
        }
        Path file = fileOf(key);
        ByteBuffer b = loadBuffer;
        b.clear();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() != fileBytes) {
                discard(file, key);
                return false;
            }
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) {
                    break;
                }
            }
        } catch (NoSuchFileException e) {
            onDisk.remove(key);
            return false;
        } catch (IOException e) {
            return false;
        }
        if (b.position() != fileBytes || !matches(b, key, parentKey, tokens, from)) {
            discard(file, key);
            return false;
        }
        MemorySegment.copy(whole(b), HEADER_BYTES + 4L * blockSize, arena.memory(), block * blockBytes, blockBytes);
        bytesRead.addAndGet(fileBytes);
        onDisk.add(key);
        try {
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // only its place in the LRU order is stale
        }
        return true;
    }

    /** Whether a file that {@link #load} reads is this block: every header field, the tokens and the checksum. */
    private boolean matches(ByteBuffer b, long key, long parentKey, int[] tokens, int from) {
        if (b.getLong(0) != MAGIC || b.getLong(8) != fingerprint || b.getLong(16) != key || b.getLong(24) != parentKey
                || b.getInt(32) != blockSize || b.getInt(36) != numLayers || b.getInt(40) != floatsPerSlot
                || b.getInt(44) != dtype.ordinal() || b.getLong(48) != blockBytes) {
            return false;
        }
        for (int i = 0; i < blockSize; i++) {
            if (b.getInt(HEADER_BYTES + 4 * i) != tokens[from + i]) {
                return false;
            }
        }
        return b.getLong(56) == checksum(b);
    }

    /** The buffer as a segment from its first byte, whatever its position. */
    private static MemorySegment whole(ByteBuffer b) {
        return MemorySegment.ofBuffer(b.duplicate().clear());
    }

    /** CRC32C of everything after the header: the tokens and the KV. */
    private long checksum(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(HEADER_BYTES).limit(fileBytes));
        return crc.getValue();
    }

    private void writeLoop() {
        while (!closed || !pending.isEmpty()) {
            ByteBuffer b;
            try {
                b = pending.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (b == null) {
                continue;
            }
            try {
                write(b);
            } catch (IOException | RuntimeException e) {
                System.err.println("xllm: cannot write a KV block to " + dir + ": " + e.getMessage());
            } finally {
                freeStaging.add(b);
            }
        }
    }

    private void write(ByteBuffer b) throws IOException {
        long key = b.getLong(16);
        if (onDisk.contains(key)) {
            return;
        }
        b.putLong(56, checksum(b));
        Path file = fileOf(key);
        Path tmp = dir.resolve(hex(key) + "." + ProcessHandle.current().pid() + TMP_SUFFIX);
        Files.deleteIfExists(tmp); // left by a crashed process of the same pid
        try (FileChannel ch = PrivateFiles.newFile(tmp)) {
            b.position(0).limit(fileBytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        onDisk.add(key);
        bytesWritten.addAndGet(fileBytes);
        if (diskBytes.addAndGet(fileBytes) > capBytes) {
            evict();
        }
    }

    /** Deletes the least recently used files until the directory is under 90% of its cap. */
    private void evict() throws IOException {
        record Entry(Path file, long bytes, FileTime time) {
        }
        List<Entry> entries = new ArrayList<>();
        long total = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                    entries.add(new Entry(f, a.size(), a.lastModifiedTime()));
                    total += a.size();
                } catch (NoSuchFileException gone) {
                    // another process evicted it meanwhile
                }
            }
        }
        entries.sort(Comparator.comparing(Entry::time));
        long target = capBytes / 10 * 9;
        for (Entry e : entries) {
            if (total <= target) {
                break;
            }
            Files.deleteIfExists(e.file());
            Long key = keyOf(e.file());
            if (key != null) {
                onDisk.remove(key);
            }
            total -= e.bytes();
        }
        diskBytes.set(total);
    }

    /**
     * Learns what an earlier run (or a co-located worker) left: keys and sizes. Removes the temporary files of
     * processes that are gone; those of a live worker sharing the directory are its writes in progress.
     */
    private void scan() {
        long total = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.endsWith(TMP_SUFFIX)) {
                    if (!writerAlive(name)) {
                        Files.deleteIfExists(f);
                    }
                } else if (name.endsWith(SUFFIX)) {
                    Long key = keyOf(f);
                    if (key != null) {
                        onDisk.add(key);
                        total += Files.size(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the KV offload directory " + dir, e);
        }
        diskBytes.set(total);
    }

    private void discard(Path file, long key) {
        onDisk.remove(key);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // ignored either way: it never loads
        }
    }

    /** Calls {@code action} with the key of every block known to be on disk. */
    public void forEachKey(LongConsumer action) {
        for (Long key : onDisk) {
            action.accept(key);
        }
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    public long bytesRead() {
        return bytesRead.get();
    }

    /** Blocks not written because every staging buffer was busy. */
    public long dropped() {
        return dropped.get();
    }

    public long diskBytes() {
        return diskBytes.get();
    }


    private Path fileOf(long key) {
        return dir.resolve(hex(key) + SUFFIX);
    }

    /** Whether the process that names itself in a temporary file's name ({@code <hash>.<pid>.tmp}) still runs. */
    private static boolean writerAlive(String tmpName) {
        String[] parts = tmpName.split("\\.");
        try {
            long pid = Long.parseLong(parts.length == 3 ? parts[1] : "");
            return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Long keyOf(Path file) {
        String name = file.getFileName().toString();
        if (name.length() != 16 + SUFFIX.length()) {
            return null;
        }
        try {
            return Long.parseUnsignedLong(name.substring(0, 16), 16);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static String hex(long v) {
        return java.util.HexFormat.of().toHexDigits(v);
    }

    /** Writes what is queued, then stops the writer. */
    @Override
    public void close() {
        closed = true;
        try {
            writer.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
