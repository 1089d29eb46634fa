package xllm.http;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.common.tls.Tls;
import io.helidon.common.tls.TlsClientAuth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

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
    }

    private static void readable(String option, Path file) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(option + " " + file + ": no such readable file");
        }
    }

    /** Helidon's TLS for the listener; a file that is not the PEM it should be is an error naming it. */
    Tls serverTls() {
        Keys identity;
        try {
            identity = Keys.builder().pem(pem -> pem.key(Resource.create(keyFile)).certChain(Resource.create(certFile))).build();
            if (identity.privateKey().isEmpty()) {
                throw new IllegalArgumentException("--ssl-keyfile " + keyFile + ": no PEM private key in it");
            }
            if (identity.certChain().isEmpty()) {
                throw new IllegalArgumentException("--ssl-certfile " + certFile + ": no PEM certificate in it");
            }
        } catch (RuntimeException e) {
            throw e instanceof IllegalArgumentException ? e
                    : new IllegalArgumentException("--ssl-certfile " + certFile + " / --ssl-keyfile " + keyFile + ": " + e.getMessage(), e);
        }
        var tls = Tls.builder().privateKey(identity).privateKeyCertChain(identity);
        if (clientCaCerts != null) {
            try {
                Keys trust = Keys.builder().pem(pem -> pem.certificates(Resource.create(clientCaCerts))).build();
                if (trust.certs().isEmpty()) {
                    throw new IllegalArgumentException("--ssl-ca-certs " + clientCaCerts + ": no PEM certificate in it");
                }
                tls.trust(trust).clientAuth(TlsClientAuth.REQUIRED);
            } catch (RuntimeException e) {
                throw e instanceof IllegalArgumentException ? e
                        : new IllegalArgumentException("--ssl-ca-certs " + clientCaCerts + ": " + e.getMessage(), e);
            }
        }
        return tls.build();
    }
}
