package xllm.http;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.common.pki.PemKeys;
import io.helidon.common.tls.Tls;
import io.helidon.common.tls.TlsClientAuth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * HTTPS from PEM files, named as vLLM names them.
 *
 * @param certFile {@code --ssl-certfile}: the server's certificate chain
 * @param keyFile {@code --ssl-keyfile}: its private key (PKCS#8 or PKCS#1, unencrypted)
 * @param clientCaCerts {@code --ssl-ca-certs}: when not null, clients must present a certificate signed by one of
 *     these CAs
 */
public record TlsFiles(Path certFile, Path keyFile, Path clientCaCerts) {
    public TlsFiles {
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
        readable("--ssl-certfile", certFile);
        readable("--ssl-keyfile", keyFile);
        if (clientCaCerts != null) {
            readable("--ssl-ca-certs", clientCaCerts);
        }
        // read once now, so that a wrong file is told before anything starts
        load(certFile, keyFile, clientCaCerts);
    }

    private static void readable(String option, Path file) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(option + " " + file + ": no such readable file");
        }
    }

    /** Helidon's TLS for the listener. */
    Tls serverTls() {
        return load(certFile, keyFile, clientCaCerts);
    }

    /** A file that is not the PEM it should be is an {@link IllegalArgumentException} naming it. */
    private static Tls load(Path certFile, Path keyFile, Path clientCaCerts) {
        PrivateKey key = read("--ssl-keyfile", keyFile, pem -> pem.key(Resource.create(keyFile))).privateKey()
                .orElseThrow(() -> new IllegalArgumentException("--ssl-keyfile " + keyFile + ": no PEM private key in it"));
        List<X509Certificate> chain = read("--ssl-certfile", certFile, pem -> pem.certChain(Resource.create(certFile))).certChain();
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("--ssl-certfile " + certFile + ": no PEM certificate in it");
        }
        var tls = Tls.builder().privateKey(key).privateKeyCertChain(chain);
        if (clientCaCerts != null) {
            List<X509Certificate> trust = read("--ssl-ca-certs", clientCaCerts, pem -> pem.certificates(Resource.create(clientCaCerts))).certs();
            if (trust.isEmpty()) {
                throw new IllegalArgumentException("--ssl-ca-certs " + clientCaCerts + ": no PEM certificate in it");
            }
            tls.trust(trust).clientAuth(TlsClientAuth.REQUIRED);
        }
        return tls.build();
    }

    private static Keys read(String option, Path file, Consumer<PemKeys.Builder> pem) {
        try {
            return Keys.builder().pem(pem).build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + " " + file + ": " + e.getMessage(), e);
        }
    }
}
