package xllm.sched.nodes;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The TLS a router speaks to nodes whose URL is https: trusting the CA certificates of a PEM file. */
public final class NodeTls {
    private NodeTls() {
    }

    /** A context that trusts the certificates in {@code caCerts} (PEM) and no others; an unusable file is an {@link IllegalArgumentException}. */
    public static SSLContext trusting(Path caCerts) {
        try (InputStream in = Files.newInputStream(caCerts)) {
            Collection<? extends Certificate> certificates = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IllegalArgumentException("no PEM certificate in it");
            }
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int i = 0;
            for (Certificate c : certificates) {
                trusted.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read it (" + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not PEM CA certificates (" + e.getMessage() + ")", e);
        }
    }
}
