package xllm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server options a user gets wrong are one-line errors before anything starts. */
class ServerArgsTest {
    @TempDir
    static Path tmp;

    @BeforeAll
    static void locateRoot() {
        CommandLineTest.locateRoot();
    }

    @Test
    void aKeyIsGivenOneWayAndNeverEmpty() throws Exception {
        Path keyFile = Files.writeString(tmp.resolve("key"), "k\n");
        assertUsage("give --api-key-file or --api-key, not both", "serve", "--api-key", "k", "--api-key-file", keyFile.toString());
        assertUsage("--api-key-file " + tmp.resolve("empty") + " gives an empty API key", "serve", "--api-key-file",
                Files.writeString(tmp.resolve("empty"), "\n").toString());
        assertUsage("--api-key-file " + tmp.resolve("none") + ": cannot read it", "router", "--etcd", "http://127.0.0.1:1",
                "--api-key-file", tmp.resolve("none").toString());
    }

    @Test
    void httpsNeedsReadablePemFilesInPairs() throws Exception {
        assertUsage("--ssl-ca-certs needs --ssl-certfile and --ssl-keyfile", "serve", "--ssl-ca-certs", "ca.pem");
        assertUsage("HTTPS needs both --ssl-certfile and --ssl-keyfile", "serve", "--ssl-certfile", "cert.pem");
        assertUsage("--ssl-certfile " + tmp.resolve("nope.pem") + ": no such readable file", "serve",
                "--ssl-certfile", tmp.resolve("nope.pem").toString(), "--ssl-keyfile", tmp.resolve("nope.pem").toString());
        Path garbage = Files.writeString(tmp.resolve("garbage.pem"), "not a certificate\n");
        CommandLineTest.Run r = CommandLineTest.run("serve", "--ssl-certfile", garbage.toString(), "--ssl-keyfile", garbage.toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith("xllm: --ssl-"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("xllm:")).count(), r.err());
    }

    @Test
    void timeoutsAndTheConnectionCapMustBePositive() {
        assertUsage("--header-timeout-s must be in (0, 86400] seconds, got 0", "serve", "--header-timeout-s", "0");
        assertUsage("--keep-alive-timeout-s must be in (0, 86400] seconds, got -1", "serve", "--keep-alive-timeout-s", "-1");
        assertUsage("the connection limit must be at least 1, got 0", "serve", "--max-connections", "0");
    }

    private static void assertUsage(String message, String... args) {
        CommandLineTest.Run r = CommandLineTest.run(args);
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("xllm: " + message), r.err());
    }
}
