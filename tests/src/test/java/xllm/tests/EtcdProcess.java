package xllm.tests;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real etcd (Debian's etcd-server) on free loopback ports with a data directory of its own; stopped and
 * its directory removed on close. Keys are read through etcd's JSON gateway.
 */
final class EtcdProcess implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/bin/etcd");

    private final int clientPort;
    private final int peerPort;
    private final Path dataDir;
    private final Path log;
    private Process process;

    private EtcdProcess(int clientPort, int peerPort, Path dataDir, Path log) {
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.dataDir = dataDir;
        this.log = log;
    }

    static EtcdProcess start() throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: install it with apt-get install -y etcd-server (./xllm test does, as root)");
        }
        Path dir = Files.createTempDirectory("xllm-etcd");
        EtcdProcess etcd = new EtcdProcess(ServerProcess.freePort(), ServerProcess.freePort(), dir.resolve("data"), dir.resolve("etcd.log"));
        etcd.launch();
        return etcd;
    }

    String url() {
        return "http://127.0.0.1:" + clientPort;
    }

    /** Kills etcd at once, keeping its data. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** Starts it again on the same ports; with {@code wipe}, from an empty data directory, as a rebuilt etcd would. */
    void restart(boolean wipe) throws IOException, InterruptedException {
        if (wipe) {
            deleteTree(dataDir);
        }
        launch();
    }

    /** The keys under {@code prefix} now, in order. */
    List<String> keys(String prefix) {
        byte[] start = prefix.getBytes(StandardCharsets.UTF_8);
        byte[] end = start.clone();
        end[end.length - 1]++;
        Base64.Encoder b64 = Base64.getEncoder();
        String body = "{\"key\":\"" + b64.encodeToString(start) + "\",\"range_end\":\"" + b64.encodeToString(end) + "\",\"keys_only\":true}";
        Http.Response r = Http.post(URI.create(url() + "/v3/kv/range"), body);
        List<String> keys = new ArrayList<>();
        for (JsonNode kv : r.json().path("kvs")) {
            keys.add(new String(Base64.getDecoder().decode(kv.path("key").asText()), StandardCharsets.UTF_8));
        }
        return keys;
    }

    /** The value under {@code key}, or null. */
    String value(String key) {
        String body = "{\"key\":\"" + Base64.getEncoder().encodeToString(key.getBytes(StandardCharsets.UTF_8)) + "\"}";
        JsonNode kvs = Http.post(URI.create(url() + "/v3/kv/range"), body).json().path("kvs");
        return kvs.isEmpty() ? null : new String(Base64.getDecoder().decode(kvs.get(0).path("value").asText()), StandardCharsets.UTF_8);
    }

    private void launch() throws IOException, InterruptedException {
        String client = "http://127.0.0.1:" + clientPort;
        String peer = "http://127.0.0.1:" + peerPort;
        process = new ProcessBuilder(BINARY.toString(), "--name", "test", "--data-dir", dataDir.toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "test=" + peer)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Await.until("etcd to answer on " + client, Duration.ofSeconds(30), () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited: " + read(log));
            }
            try {
                return Http.get(URI.create(client + "/health")).body().contains("true");
            } catch (RuntimeException notYet) {
                return false;
            }
        });
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        deleteTree(dataDir.getParent());
    }
}
