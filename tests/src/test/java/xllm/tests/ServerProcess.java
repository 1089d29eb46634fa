package xllm.tests;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/** {@code ./xllm serve} started as a real process on a free port; killed on close. */
final class ServerProcess implements AutoCloseable {
    final int port;
    final Process process;
    final Path log;
    /** {@code http}, or {@code https} for a server with TLS. */
    private final String scheme;
    /** Speaks to it for the port and readiness checks: trusting its certificate when it has TLS. */
    private final HttpClient probes;

    private ServerProcess(int port, Process process, Path log, SSLContext tls) {
        this.port = port;
        this.process = process;
        this.log = log;
        this.scheme = tls == null ? "http" : "https";
        this.probes = tls == null ? HttpClient.newHttpClient() : HttpClient.newBuilder().sslContext(tls).build();
    }

    /** The repository root, where {@code ./xllm} is. */
    static Path root() {
        return Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"));
    }

    /** Starts the server with {@code args} and waits until the port accepts connections. */
    static ServerProcess start(String... args) throws IOException, InterruptedException {
        return startOnPort(freePort(), args);
    }

    /** Starts the server on {@code port} (to restart one in place) and waits until the port accepts connections. */
    static ServerProcess startOnPort(int port, String... args) throws IOException, InterruptedException {
        return launch("serve", port, args);
    }

    /** Starts {@code ./xllm router} with {@code args} on a free port and waits until the port accepts connections. */
    static ServerProcess startRouter(String... args) throws IOException, InterruptedException {
        return launch("router", freePort(), args);
    }

    private static ServerProcess launch(String subcommand, int port, String... args) throws IOException, InterruptedException {
        return launch(subcommand, port, Map.of(), null, args);
    }

    /**
     * Starts {@code ./xllm subcommand} on {@code port} with {@code environment} added to this process's, and waits
     * until the port answers; {@code tls} is how to trust a server started with TLS, null for plain HTTP.
     */
    static ServerProcess launch(String subcommand, int port, Map<String, String> environment, SSLContext tls, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(root().resolve("xllm").toString(), subcommand, "--port", Integer.toString(port)));
        command.addAll(List.of(args));
        Path log = Files.createTempFile("xllm-serve", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("XLLM_NO_BUILD", "1");
        // the serving path's warm-up without its JIT-settling rounds (up to 10 s a start); a test of them sets its own
        pb.environment().put("XLLM_JAVA_OPTS", "-Dxllm.warmUp.settleSeconds=0");
        pb.environment().putAll(environment);
        ServerProcess server = new ServerProcess(port, pb.start(), log, tls);
        server.awaitPort();
        return server;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private void awaitPort() throws InterruptedException, IOException {
        HttpClient client = probes;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("server exited: " + Files.readString(log));
            }
            try {
                client.send(HttpRequest.newBuilder(uri("/health")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("server did not open port " + port + ": " + Files.readString(log));
    }

    /** Waits until /health says 200. */
    void awaitReady() throws IOException, InterruptedException {
        HttpClient client = probes;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            int status = client.send(HttpRequest.newBuilder(uri("/health")).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            if (status == 200) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("server never became ready: " + Files.readString(log));
    }

    /** What the process has written to stdout and stderr so far. */
    String output() throws IOException {
        return Files.readString(log);
    }

    URI uri(String path) {
        return URI.create(scheme + "://127.0.0.1:" + port + path);
    }

    String baseUrl() {
        return scheme + "://127.0.0.1:" + port + "/v1";
    }

    /** Kills the process at once, as a crash would (SIGKILL: no shutdown hook runs). */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
