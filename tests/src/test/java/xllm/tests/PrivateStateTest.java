package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What another user of the machine could see or plant: the files {@code serve --workers 2} creates (shared
 * memory, job store), the API key in the processes' command lines, and directories made ready for it in advance.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrivateStateTest {
    private static final String KEY = "private-state-test-key-7b1e";

    private Path tmp;
    private Path state;
    private Path shm;
    private ServerProcess server;

    @BeforeAll
    void start() throws Exception {
        tmp = Files.createTempDirectory("xllm-private");
        state = tmp.resolve("state");
        int port = ServerProcess.freePort();
        shm = Path.of("/dev/shm/xllm-" + port);
        server = ServerProcess.launch("serve", port, Map.of("XLLM_API_KEY", KEY), null, "--workers", "2", "--state-dir", state.toString());
        server.awaitReady();
    }

    @AfterAll
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        deleteTree(tmp);
    }

    @Test
    void everythingTheServerCreatesIsOwnerOnly() throws Exception {
        String auth = "Bearer " + KEY;
        assertEquals(200, Http.post(server.uri("/v1/completions"), "{\"prompt\":\"def f(x):\",\"max_tokens\":8}", "Authorization", auth).status());
        String job = Http.post(server.uri("/v1/jobs"), "{\"requests\":[{\"prompt\":\"import os\",\"max_tokens\":4}]}", "Authorization", auth)
                .json().get("id").asText();
        Await.until("the job to complete", Duration.ofSeconds(60),
                () -> Http.get(server.uri("/v1/jobs/" + job), "Authorization", auth).json().get("status").asText().equals("completed"));
        List<String> names = new ArrayList<>();
        List<String> open = new ArrayList<>();
        for (Path root : List.of(shm, state)) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.toList()) {
                    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                    boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                    if (!mode.equals(dir ? "rwx------" : "rw-------") || Files.isSymbolicLink(p)
                            || (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) != uid()) {
                        open.add(mode + " " + p);
                    }
                    names.add(root.relativize(p).toString().replaceAll("[0-9]+", "N"));
                }
            }
        }
        assertEquals(List.of(), open, "every directory 700, every file 600, all this user's");
        assertFalse(Files.readString(server.log).contains("def f(x):"), "prompts are not logged unless asked");
        // the walk saw what matters: queues with their cycle files, the journal, the KV index and arenas, the job store
        for (String expected : List.of("requests-N", "events-N/NF.cqN", "journal/NF.cqN", "journal/metadata.cqNt", "kv-index",
                "kv-pages-N-N", "worker-pids", "jobs")) {
            assertTrue(names.stream().anyMatch(n -> n.startsWith(expected)), expected + " in " + new TreeSet<>(names));
        }
        assertTrue(names.stream().anyMatch(n -> n.matches("jobs/job-.*/result-N\\.json")), new TreeSet<>(names).toString());
    }

    @Test
    void theKeyIsInNoCommandLineAndNotInTheWorkersEnvironment() throws Exception {
        List<Long> workers = new ArrayList<>();
        for (JsonNode w : Http.get(server.uri("/admin/workers"), "Authorization", "Bearer " + KEY).json().get("workers")) {
            workers.add(w.get("pid").asLong());
        }
        assertEquals(2, workers.size());
        assertFalse(commandLine(server.process.pid()).contains(KEY), "the router's command line");
        assertTrue(commandLine(server.process.pid()).contains(" serve "), "it is the router's: " + commandLine(server.process.pid()));
        for (long pid : workers) {
            String cmdline = commandLine(pid);
            assertTrue(cmdline.contains(" worker "), cmdline);
            assertFalse(cmdline.contains(KEY), "worker " + pid + "'s command line");
            assertFalse(Files.readString(Path.of("/proc/" + pid + "/environ"), StandardCharsets.ISO_8859_1).contains(KEY),
                    "a worker answers no client: it is not given the key at all");
        }
        assertEquals(401, Http.get(server.uri("/v1/models")).status());
        assertEquals(401, Http.get(server.uri("/v1/models"), "Authorization", "Bearer " + KEY + "x").status());
        assertEquals(200, Http.get(server.uri("/v1/models"), "Authorization", "Bearer " + KEY).status());
    }

    @Test
    void aKeyFileWorksAndTheOldFlagStillDoesButWarns() throws Exception {
        Path keyFile = tmp.resolve("api-key");
        Files.writeString(keyFile, "from-a-file\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        try (ServerProcess fromFile = ServerProcess.start("--api-key-file", keyFile.toString(), "--state-dir", tmp.resolve("s1").toString())) {
            assertEquals(401, Http.get(fromFile.uri("/v1/models")).status());
            assertTrue(Http.get(fromFile.uri("/v1/models"), "Authorization", "Bearer from-a-file").status() != 401,
                    "the file's key, without its line end, is the key");
            assertFalse(commandLine(fromFile.process.pid()).contains("from-a-file"));
        }
        try (ServerProcess flag = ServerProcess.start("--api-key", "on-the-command-line", "--state-dir", tmp.resolve("s2").toString(),
                "--log-requests")) {
            flag.awaitReady();
            assertEquals(401, Http.get(flag.uri("/v1/models")).status());
            String text = Http.post(flag.uri("/v1/completions"), "{\"prompt\":\"class Logged\",\"max_tokens\":6,\"temperature\":0}",
                    "Authorization", "Bearer on-the-command-line").json().at("/choices/0/text").asText();
            String log = Files.readString(flag.log);
            assertTrue(log.contains("warning: --api-key shows the key to every user of this machine"), log);
            assertTrue(log.contains("\"prompt\":\"class Logged\"") && log.contains(Http.JSON.writeValueAsString(text)),
                    "with --log-requests the prompt and the output are logged: " + log);
        }
    }

    @Test
    void aSharedMemoryDirectoryPreparedByOthersIsRefused() throws Exception {
        int port = ServerProcess.freePort();
        Path planted = Path.of("/dev/shm/xllm-" + port);
        Path elsewhere = Files.createDirectory(tmp.resolve("elsewhere"));
        try {
            Files.createDirectory(planted, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            Files.setPosixFilePermissions(planted, PosixFilePermissions.fromString("rwxr-xr-x"));
            assertRefused(port, planted + " is open to other users (mode 755, needs 700)", "--workers", "2");
            Files.delete(planted);
            Files.createSymbolicLink(planted, elsewhere);
            assertRefused(port, planted + " is a symbolic link", "--workers", "2");
            try (Stream<Path> left = Files.list(elsewhere)) {
                assertEquals(0, left.count(), "nothing was written where the link points");
            }
            Files.delete(planted);
            if (isRoot()) {
                Files.createDirectory(planted, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                Files.setOwner(planted, planted.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
                assertRefused(port, planted + " belongs to another user", "--workers", "2");
            }
        } finally {
            Files.deleteIfExists(planted);
        }
    }

    @Test
    void aStateDirectoryOthersCanReachIsRefused() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open-state"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefused(ServerProcess.freePort(), open + " is open to other users (mode 777, needs 700)", "--state-dir", open.toString());
        Path link = Files.createSymbolicLink(tmp.resolve("state-link"), Files.createDirectory(tmp.resolve("state-target")));
        assertRefused(ServerProcess.freePort(), link + " is a symbolic link", "--state-dir", link.toString());
    }

    /** The server exits at once with status 1 and a one-line message beginning with {@code message}. */
    private static void assertRefused(int port, String message, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ServerProcess.root().resolve("xllm").toString(), "serve", "--port", Integer.toString(port)));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("XLLM_NO_BUILD", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the server refuses at once");
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.exitValue(), output);
        List<String> lines = output.lines().filter(l -> l.startsWith("xllm:")).toList();
        assertEquals(1, lines.size(), output);
        assertTrue(lines.getFirst().startsWith("xllm: " + message), output);
    }

    private static String commandLine(long pid) throws IOException {
        return " " + Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8).replace('\0', ' ');
    }

    private static int uid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    private static boolean isRoot() throws IOException {
        return uid() == 0;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
