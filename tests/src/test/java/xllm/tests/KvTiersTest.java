package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.kv.BlockHashes;

/**
 * KV memory beyond the blocks in use, seen from outside a real server: memory taken as used and given back
 * when idle, a disk tier that survives restarts and never returns a block that is not the prompt's, and
 * sleep mode.
 */
class KvTiersTest {
    private static final long MB = 1 << 20;
    private static final int BLOCK = 16;

    @TempDir
    Path offload;

    @Test
    void anEightGigabyteCacheTakesMemoryOnlyAsItIsUsedAndGivesItBackWhenIdle() throws Exception {
        try (ServerProcess server = ServerProcess.start("--kv-cache-mb", "8192", "--kv-idle-release-s", "1", "--no-prefix-caching")) {
            server.awaitReady();
            assertTrue(residentKv(server) < MB, "nothing used yet: " + residentKv(server));
            assertTrue(processRss(server) < 2048 * MB, "an 8 GiB cap is address space, not memory: " + processRss(server) / MB + " MB resident");
            String prompt = longPrompt(server, 1800);
            complete(server, prompt, 4);
            long used = residentKv(server);
            System.out.printf("kv tiers: resident KV after a %d-token prompt: %.1f MB, process %d MB%n", tokens(server, prompt).length,
                    used / (double) MB, processRss(server) / MB);
            assertTrue(used > MB, "the prompt's blocks are resident: " + used);
            assertTrue(used < 1800 * 8 * 1024 + 64 * MB, "no more than its tokens need: " + used);
            Await.until("the idle engine to give its free blocks back", Duration.ofSeconds(20), () -> residentKv(server) < 64 * 1024);
        }
    }

    @Test
    void aRestartLoadsThePrefixFromDiskAndAnswersTheSame() throws Exception {
        String prompt;
        String cold;
        int[] ids;
        try (ServerProcess first = ServerProcess.start("--kv-offload-dir", offload.toString())) {
            first.awaitReady();
            prompt = longPrompt(first, 1800);
            ids = tokens(first, prompt);
            long start = System.nanoTime();
            cold = completionText(complete(first, prompt, 16));
            System.out.printf("kv tiers: %d-token prompt, cold: %.3f s%n", ids.length, (System.nanoTime() - start) / 1e9);
            int blocks = (ids.length + 16) / BLOCK;
            Await.until("the prompt's blocks on disk", Duration.ofSeconds(30), () -> blockFiles().size() >= blocks - 1);
            Path file = blockFiles().getFirst();
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                    "a block file is as private as the prompt it came from");
        }
        try (ServerProcess second = ServerProcess.start("--kv-offload-dir", offload.toString())) {
            second.awaitReady();
            complete(second, "def warm_up():", 2); // the JIT's first request, not the disk tier's
            long start = System.nanoTime();
            JsonNode r = complete(second, prompt, 16);
            System.out.printf("kv tiers: the same prompt after a restart, from disk: %.3f s%n", (System.nanoTime() - start) / 1e9);
            assertEquals(cold, completionText(r), "greedy output from disk-loaded KV is the computed one");
            int cached = r.at("/usage/prompt_tokens_details/cached_tokens").asInt();
            assertEquals((ids.length - 1) / BLOCK * BLOCK, cached, "every full block of the prompt came from disk");
            assertTrue(Http.metric(second, "xllm:prefix_cache_hit_tokens_total", "tier=\"disk\"") >= cached);
            assertTrue(Http.metric(second, "xllm:kv_offload_bytes_total", "direction=\"read\"") > 0);
        }
        // a flipped bit in block 60: blocks before it load, it and those after are computed again
        Path corrupt = blockFile(ids, 60);
        try (RandomAccessFile f = new RandomAccessFile(corrupt.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 1);
        }
        byte[] corrupted = Files.readAllBytes(corrupt);
        try (ServerProcess third = ServerProcess.start("--kv-offload-dir", offload.toString())) {
            third.awaitReady();
            JsonNode r = complete(third, prompt, 16);
            assertEquals(cold, completionText(r));
            assertEquals(60 * BLOCK, r.at("/usage/prompt_tokens_details/cached_tokens").asInt(), "nothing from the corrupt block on");
            // the corrupt file was removed, and the block, computed again, written anew
            Await.until("block 60 written again", Duration.ofSeconds(30), () -> Files.exists(corrupt));
            assertFalse(java.util.Arrays.equals(corrupted, Files.readAllBytes(corrupt)), "block 60 on disk is no longer the corrupt one");
        }
        // another KV layout is another fingerprint: none of these files is even looked at
        try (ServerProcess foreign = ServerProcess.start("--kv-offload-dir", offload.toString(), "--block-size", "32")) {
            foreign.awaitReady();
            JsonNode r = complete(foreign, prompt, 16);
            assertEquals(0, r.at("/usage/prompt_tokens_details/cached_tokens").asInt());
            assertEquals(0, Http.metric(foreign, "xllm:prefix_cache_hit_tokens_total", "tier=\"disk\""));
        }
    }

    @Test
    void sleepGivesTheModelBackAndWakingUpAnswersTheSame() throws Exception {
        try (ServerProcess server = ServerProcess.start()) {
            server.awaitReady();
            String before = completionText(complete(server, "def fibonacci(n):", 24));
            long awake = processRss(server);
            assertTrue(mapsModel(server), "the weights are mapped while awake");
            JsonNode slept = Http.post(server.uri("/sleep"), "").json();
            assertTrue(slept.get("is_sleeping").asBoolean());
            assertTrue(Http.get(server.uri("/is_sleeping")).json().get("is_sleeping").asBoolean());
            assertFalse(mapsModel(server), "asleep, the weights are unmapped");
            long asleep = processRss(server);
            System.out.printf("kv tiers: resident memory awake %d MB, asleep %d MB%n", awake / MB, asleep / MB);
            assertTrue(asleep < awake, "sleep gives memory back");
            Http.Response refused = Http.post(server.uri("/v1/completions"), body("def f():", 4));
            assertEquals(503, refused.status(), refused.body());
            assertTrue(refused.body().contains("asleep"), refused.body());
            assertFalse(Http.post(server.uri("/wake_up"), "").json().get("is_sleeping").asBoolean());
            server.awaitReady();
            assertEquals(before, completionText(complete(server, "def fibonacci(n):", 24)));
        }
    }

    // ---- helpers ----

    private static long residentKv(ServerProcess server) {
        return (long) Http.metric(server, "xllm:resident_memory_bytes", "part=\"kv\"");
    }

    /** The server process's resident set, from /proc. */
    private static long processRss(ServerProcess server) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + server.process.pid() + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).replace("kB", "").trim()) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS for " + server.process.pid());
    }

    private static boolean mapsModel(ServerProcess server) throws IOException {
        String model = ServerProcess.root().resolve("models/pycoder-22m").toString();
        return Files.readAllLines(Path.of("/proc/" + server.process.pid() + "/maps")).stream().anyMatch(l -> l.contains(model));
    }

    private static String body(String prompt, int maxTokens) {
        return Http.JSON.createObjectNode().put("model", "pycoder-22m").put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("ignore_eos", true).toString();
    }

    private static JsonNode complete(ServerProcess server, String prompt, int maxTokens) {
        Http.Response r = Http.post(server.uri("/v1/completions"), body(prompt, maxTokens));
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private static String completionText(JsonNode r) {
        return r.at("/choices/0/text").asText();
    }

    private static int[] tokens(ServerProcess server, String text) {
        JsonNode r = Http.post(server.uri("/tokenize"), Http.JSON.createObjectNode().put("prompt", text).toString()).json();
        int[] ids = new int[r.get("tokens").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.get("tokens").get(i).asInt();
        }
        return ids;
    }

    /** Python code of at least {@code tokens} tokens. */
    private static String longPrompt(ServerProcess server, int tokens) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; tokens(server, b.toString()).length < tokens; i++) {
            for (int j = 0; j < 10; j++, i++) {
                b.append("def handler_").append(i).append("(request, retries=").append(i).append("):\n    return request.get('value_")
                        .append(i).append("', ").append(i).append(") * ").append(i).append('\n');
            }
        }
        return b.toString();
    }

    /** The block files on disk now; walked again when a file the server was renaming vanished mid-walk. */
    private List<Path> blockFiles() {
        while (true) {
            try (Stream<Path> files = Files.walk(offload)) {
                return files.filter(p -> p.toString().endsWith(".kvb")).toList();
            } catch (java.io.UncheckedIOException e) {
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException)) {
                    throw e;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** The file of block {@code index} of a prompt: named by its chained hash, as the engine keys it. */
    private Path blockFile(int[] ids, int index) {
        long key = BlockHashes.ROOT;
        for (int i = 0; i <= index; i++) {
            key = BlockHashes.chain(key, ids, i * BLOCK, BLOCK);
        }
        String name = String.format("%016x.kvb", key);
        return blockFiles().stream().filter(p -> p.getFileName().toString().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no file " + name + " for block " + index));
    }
}
