package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The playground at {@code /} in a real browser: Debian's chromium, headless, driven by playwright-core
 * ({@code tests/browser/playground-check.mjs}) against {@code ./xllm serve} started as a process. The script
 * does what a user does (type, send, stop, change settings, read the dashboard, give the key) and checks what
 * they would see; its screenshots land in {@code tests/target/playground/}.
 */
class PlaygroundBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Duration SCRIPT_LIMIT = Duration.ofMinutes(5);
    private static final String KEY = "playground-test-key";

    private static Path browserDir() {
        return ServerProcess.root().resolve("tests/browser");
    }

    /** Missing tools fail the tests with what to install: a skipped browser test would pass unseen. */
    @BeforeAll
    static void browserToolsAreInstalled() throws InterruptedException {
        if (!Files.isExecutable(CHROMIUM)) {
            fail(CHROMIUM + " is missing: install it with apt-get install -y chromium (./xllm test does, as root)");
        }
        String version = "";
        try {
            Process node = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            if (node.waitFor(30, TimeUnit.SECONDS) && node.exitValue() == 0) {
                version = new String(node.getInputStream().readAllBytes()).trim();
            }
        } catch (IOException e) {
            fail("node is missing: install Node.js 20 or later (./xllm test does, as root): " + e.getMessage());
        }
        // playwright-core asks for Node.js 20 or later; node --version prints v<major>.<minor>.<patch>
        if (!version.matches("v(2\\d|[3-9]\\d|\\d{3,})\\..*")) {
            fail("Node.js 20 or later is needed for playwright-core, found '" + version + "'");
        }
        if (!Files.isRegularFile(browserDir().resolve("node_modules/playwright-core/package.json"))) {
            fail("playwright-core is missing: run npm ci --prefix tests/browser (./xllm test does)");
        }
    }

    @Test
    void chatStopSettingsAndDashboardWithoutAKey() throws Exception {
        try (ServerProcess server = ServerProcess.start()) {
            server.awaitReady();
            check(server, "open");
        }
    }

    @Test
    void keyAskedOnceAndKeptInTheTabWithAWorkerRowEach() throws Exception {
        try (ServerProcess server = ServerProcess.start("--api-key", KEY, "--workers", "2")) {
            server.awaitReady();
            check(server, "key", "--api-key", KEY);
        }
    }

    @Test
    void aRouterOfNodesListsItsNodes() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
                ServerProcess node = ServerProcess.start("--etcd", etcd.url(), "--node-name", "a", "--threads", "1");
                ServerProcess router = ServerProcess.startRouter("--etcd", etcd.url())) {
            node.awaitReady();
            router.awaitReady();
            check(router, "nodes", "--node-url", "http://127.0.0.1:" + node.port);
        }
    }

    /** Runs the browser script's {@code scenario} against {@code server}; fails with its output and the server's log. */
    private static void check(ServerProcess server, String scenario, String... extra) throws Exception {
        List<String> command = new ArrayList<>(List.of("node", "playground-check.mjs",
                "--url", "http://127.0.0.1:" + server.port,
                "--scenario", scenario,
                "--shots", ServerProcess.root().resolve("tests/target/playground").toString(),
                "--chromium", CHROMIUM.toString()));
        command.addAll(List.of(extra));
        Path output = Files.createTempFile("xllm-browser", ".log");
        try {
            Process script = new ProcessBuilder(command).directory(browserDir().toFile())
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            boolean ended = script.waitFor(SCRIPT_LIMIT.toSeconds(), TimeUnit.SECONDS);
            if (!ended) {
                script.descendants().forEach(ProcessHandle::destroyForcibly); // chromium too
                script.destroyForcibly().waitFor();
            }
            String said = Files.readString(output);
            System.out.println("browser check " + scenario + ":\n" + said);
            String failure = "the browser check '" + scenario + "' " + (ended ? "failed" : "did not end within " + SCRIPT_LIMIT)
                    + ":\n" + said + "\nserver log (end):\n" + tail(Files.readString(server.log), 4000);
            if (!ended) {
                fail(failure);
            }
            assertEquals(0, script.exitValue(), failure);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String tail(String text, int chars) {
        return text.length() <= chars ? text : text.substring(text.length() - chars);
    }
}
