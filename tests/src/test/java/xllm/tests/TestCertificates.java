package xllm.tests;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Certificates made for one test run with the JDK's keytool, in a temporary directory (never committed): a
 * self-signed server certificate for 127.0.0.1 and localhost, its private key as PEM (PKCS#8, what {@code
 * openssl req -nodes} writes), and a CA with a client certificate it signed.
 */
final class TestCertificates implements AutoCloseable {
    private static final String PASSWORD = "test-only";

    final Path dir;
    /** The server's self-signed certificate, PEM. */
    final Path serverCert;
    /** The server's private key, PEM. */
    final Path serverKey;
    /** The CA that signs client certificates, PEM. */
    final Path clientCa;
    /** The client's key and certificate (signed by the CA), PKCS#12. */
    private final Path clientStore;

    private TestCertificates(Path dir) {
        this.dir = dir;
        this.serverCert = dir.resolve("server-cert.pem");
        this.serverKey = dir.resolve("server-key.pem");
        this.clientCa = dir.resolve("client-ca.pem");
        this.clientStore = dir.resolve("client.p12");
    }

    static TestCertificates create() throws IOException, InterruptedException, GeneralSecurityException {
        TestCertificates c = new TestCertificates(Files.createTempDirectory("xllm-tls"));
        Path server = c.dir.resolve("server.p12");
        Path ca = c.dir.resolve("ca.p12");
        keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-keystore", server.toString());
        keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", server.toString(), "-file", c.serverCert.toString());
        KeyStore serverStore = KeyStore.getInstance(server.toFile(), PASSWORD.toCharArray());
        byte[] pkcs8 = serverStore.getKey("server", PASSWORD.toCharArray()).getEncoded();
        Files.writeString(c.serverKey, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pkcs8)
                + "\n-----END PRIVATE KEY-----\n");
        keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=xllm test CA", "-ext", "bc:c",
                "-validity", "2", "-keystore", ca.toString());
        keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-file", c.clientCa.toString());
        Path csr = c.dir.resolve("client.csr");
        Path signed = c.dir.resolve("client.pem");
        keytool("-genkeypair", "-alias", "client", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=xllm test client",
                "-validity", "2", "-keystore", c.clientStore.toString());
        keytool("-certreq", "-alias", "client", "-keystore", c.clientStore.toString(), "-file", csr.toString());
        keytool("-gencert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-infile", csr.toString(), "-outfile", signed.toString(),
                "-validity", "2");
        keytool("-importcert", "-noprompt", "-alias", "ca", "-keystore", c.clientStore.toString(), "-file", c.clientCa.toString());
        keytool("-importcert", "-alias", "client", "-keystore", c.clientStore.toString(), "-file", signed.toString());
        return c;
    }

    /** Trusts the server's self-signed certificate and nothing else. */
    X509TrustManager serverTrust() throws IOException, GeneralSecurityException {
        KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
        trusted.load(null, null);
        int i = 0;
        try (InputStream in = Files.newInputStream(serverCert)) {
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("server-" + i++, cert);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x509) {
                return x509;
            }
        }
        throw new IllegalStateException("no X.509 trust manager");
    }

    /** TLS that trusts the server; with {@code clientCertificate}, also presents the CA-signed client certificate. */
    SSLContext context(boolean clientCertificate) throws IOException, GeneralSecurityException {
        SSLContext context = SSLContext.getInstance("TLS");
        KeyManagerFactory kmf = null;
        if (clientCertificate) {
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(KeyStore.getInstance(clientStore.toFile(), PASSWORD.toCharArray()), PASSWORD.toCharArray());
        }
        context.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {serverTrust()}, null);
        return context;
    }

    /** Removes the directory and every key in it. */
    @Override
    public void close() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        command.addAll(List.of(args));
        command.addAll(List.of("-storepass", PASSWORD, "-storetype", "PKCS12"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }
}
