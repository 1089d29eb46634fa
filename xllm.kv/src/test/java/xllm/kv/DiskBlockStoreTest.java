package xllm.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk tier gives back exactly the block that was cached, across a reopening, and nothing for a file that
 * is torn, corrupt, foreign or named by a colliding hash.
 */
class DiskBlockStoreTest {
    private static final int BLOCK = 4;
    private static final long FINGERPRINT = 0x1234_5678_9abc_def0L;
    private static final int[] TOKENS = {10, 11, 12, 13, 20, 21, 22, 23};

    @TempDir
    Path root;

    private static PageArena arena() {
        return new PageArena(8, BLOCK, 2, 6);
    }

    /** Fills block {@code block} with values derived from {@code seed}. */
    private static void fill(PageArena arena, int block, int seed) {
        for (int layer = 0; layer < 2; layer++) {
            for (int slot = 0; slot < BLOCK; slot++) {
                float[] v = new float[6];
                for (int i = 0; i < 6; i++) {
                    v[i] = seed * 1000 + layer * 100 + slot * 10 + i;
                }
                arena.writeSlot(block, layer, slot, v, 0, 6, 0);
            }
        }
    }

    private static float[] contents(PageArena arena, int block) {
        return arena.memory().asSlice(block * arena.blockBytes(), arena.blockBytes()).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Writes blocks 0 (key 101 after the root) and 1 (key 102 after 101) of TOKENS and waits for the files. */
    private Path storeTwoBlocks(PageArena arena) throws Exception {
        try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
            fill(arena, 2, 7);
            fill(arena, 5, 9);
            store.offer(101, BlockHashes.ROOT, TOKENS, 0, arena, 2);
            store.offer(102, 101, TOKENS, BLOCK, arena, 5);
        }
        Path dir = root.resolve(DiskBlockStore.hex(FINGERPRINT));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(2, files.count(), "two block files");
        }
        return dir;
    }

    @Test
    void aBlockComesBackAsItWasAfterReopening() throws Exception {
        try (PageArena arena = arena()) {
            storeTwoBlocks(arena);
            float[] expected = contents(arena, 5);
            try (DiskBlockStore reopened = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                assertTrue(reopened.load(102, 101, TOKENS, BLOCK, arena, 0));
                assertArrayEquals(expected, contents(arena, 0));
                assertEquals(reopened.bytesRead(), Files.size(root.resolve(DiskBlockStore.hex(FINGERPRINT)).resolve(DiskBlockStore.hex(102) + ".kvb")));
            }
        }
    }

    @Test
    void aBlockIsNotLoadedForAnotherPromptOrParent() throws Exception {
        try (PageArena arena = arena()) {
            storeTwoBlocks(arena);
            try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                int[] otherTokens = TOKENS.clone();
                otherTokens[BLOCK + 2] = 99;
                assertFalse(store.load(102, 101, otherTokens, BLOCK, arena, 0), "same key, other tokens: a hash collision");
                assertFalse(store.load(102, 555, TOKENS, BLOCK, arena, 0), "same key and tokens after another prefix");
            }
        }
    }

    @Test
    void aCollidingFileNameIsNotLoaded() throws Exception {
        try (PageArena arena = arena()) {
            Path dir = storeTwoBlocks(arena);
            // block 102's file put where key 103 would be: what a colliding hash would find
            Files.copy(dir.resolve(DiskBlockStore.hex(102) + ".kvb"), dir.resolve(DiskBlockStore.hex(103) + ".kvb"));
            try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                assertFalse(store.load(103, 101, TOKENS, BLOCK, arena, 0));
                assertFalse(Files.exists(dir.resolve(DiskBlockStore.hex(103) + ".kvb")), "the foreign file is removed");
                assertTrue(store.load(102, 101, TOKENS, BLOCK, arena, 0), "the real one still loads");
            }
        }
    }

    @Test
    void aCorruptOrTornFileIsIgnoredAndRemoved() throws Exception {
        try (PageArena arena = arena()) {
            Path dir = storeTwoBlocks(arena);
            Path first = dir.resolve(DiskBlockStore.hex(101) + ".kvb");
            Path second = dir.resolve(DiskBlockStore.hex(102) + ".kvb");
            try (RandomAccessFile f = new RandomAccessFile(first.toFile(), "rw")) {
                f.seek(f.length() - 7);
                int b = f.read();
                f.seek(f.length() - 7);
                f.write(b ^ 0x10); // one bit of the KV
            }
            try (RandomAccessFile f = new RandomAccessFile(second.toFile(), "rw")) {
                f.setLength(f.length() - 100);
            }
            try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                assertFalse(store.load(101, BlockHashes.ROOT, TOKENS, 0, arena, 0), "a flipped bit fails the checksum");
                assertFalse(store.load(102, 101, TOKENS, BLOCK, arena, 0), "a torn file");
                assertFalse(Files.exists(first));
                assertFalse(Files.exists(second));
            }
        }
    }

    @Test
    void anotherModelOrLayoutNeverSeesTheBlocks() throws Exception {
        try (PageArena arena = arena()) {
            Path dir = storeTwoBlocks(arena);
            try (DiskBlockStore otherModel = DiskBlockStore.open(root, 1 << 20, FINGERPRINT + 1, arena)) {
                assertFalse(otherModel.load(101, BlockHashes.ROOT, TOKENS, 0, arena, 0));
            }
            // even a file moved into another fingerprint's directory names its own fingerprint
            Path foreign = root.resolve(DiskBlockStore.hex(FINGERPRINT + 1));
            Files.move(dir.resolve(DiskBlockStore.hex(101) + ".kvb"), foreign.resolve(DiskBlockStore.hex(101) + ".kvb"),
                    StandardCopyOption.REPLACE_EXISTING);
            try (DiskBlockStore otherModel = DiskBlockStore.open(root, 1 << 20, FINGERPRINT + 1, arena)) {
                assertFalse(otherModel.load(101, BlockHashes.ROOT, TOKENS, 0, arena, 0));
            }
            try (PageArena wider = new PageArena(8, BLOCK, 2, 8);
                 DiskBlockStore otherLayout = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, wider)) {
                assertFalse(otherLayout.load(102, 101, TOKENS, BLOCK, wider, 0), "a block of another layout");
            }
        }
    }

    @Test
    void theLeastRecentlyUsedFilesGoPastTheCap() throws Exception {
        try (PageArena arena = arena()) {
            long fileBytes;
            int[] tokens = new int[BLOCK * 6];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = i;
            }
            try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                for (int b = 0; b < 3; b++) {
                    fill(arena, b, b);
                    store.offer(200 + b, b == 0 ? BlockHashes.ROOT : 199 + b, tokens, b * BLOCK, arena, b);
                }
            }
            Path dir = root.resolve(DiskBlockStore.hex(FINGERPRINT));
            fileBytes = Files.size(dir.resolve(DiskBlockStore.hex(200) + ".kvb"));
            // 200 is the oldest, then 201, 202; reading 200 makes it the most recent
            for (int b = 0; b < 3; b++) {
                Files.setLastModifiedTime(dir.resolve(DiskBlockStore.hex(200 + b) + ".kvb"), FileTime.fromMillis(1_000_000L * (b + 1)));
            }
            try (DiskBlockStore store = DiskBlockStore.open(root, 4 * fileBytes, FINGERPRINT, arena)) {
                assertTrue(store.load(200, BlockHashes.ROOT, tokens, 0, arena, 7));
                for (int b = 3; b < 6; b++) {
                    fill(arena, b, b);
                    store.offer(200 + b, 199 + b, tokens, b * BLOCK, arena, b);
                }
            }
            assertTrue(Files.exists(dir.resolve(DiskBlockStore.hex(200) + ".kvb")), "read recently: kept");
            assertFalse(Files.exists(dir.resolve(DiskBlockStore.hex(201) + ".kvb")), "least recently used: gone");
            try (Stream<Path> files = Files.list(dir)) {
                assertTrue(files.count() <= 4, "within the cap of four files");
            }
        }
    }

    @Test
    void aDirectoryOpenToOthersIsRefused() throws IOException {
        try (PageArena arena = arena()) {
            Files.createDirectories(root.resolve(DiskBlockStore.hex(FINGERPRINT)),
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
            xllm.kv.files.PrivatePathException e = org.junit.jupiter.api.Assertions.assertThrows(xllm.kv.files.PrivatePathException.class,
                    () -> DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena));
            assertTrue(e.getMessage().contains("mode 755"), e.getMessage());
        }
    }

    @Test
    void leftoverTemporaryFilesOfGoneProcessesAreRemovedOnOpening() throws IOException {
        try (PageArena arena = arena()) {
            Path dir = xllm.kv.files.PrivateFiles.directory(root.resolve(DiskBlockStore.hex(FINGERPRINT)));
            // a pid above Linux's largest names a process that is gone
            Path stale = Files.writeString(dir.resolve(DiskBlockStore.hex(5) + ".2147483646.tmp"), "half a block");
            long live = ProcessHandle.current().parent().orElseThrow().pid();
            Path inProgress = Files.writeString(dir.resolve(DiskBlockStore.hex(6) + "." + live + ".tmp"), "a co-located writer's block");
            try (DiskBlockStore store = DiskBlockStore.open(root, 1 << 20, FINGERPRINT, arena)) {
                assertFalse(Files.exists(stale));
                assertTrue(Files.exists(inProgress), "a live process's write in progress is left to it");
            }
        }
    }
}
