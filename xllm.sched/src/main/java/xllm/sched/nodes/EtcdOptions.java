package xllm.sched.nodes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * How to reach etcd: its endpoints, the key prefix this deployment owns, and the credentials.
 *
 * @param endpoints client URLs such as {@code http://127.0.0.1:2379}
 * @param namespace prefix of every key written or read (empty for xLLM's own layout)
 * @param user etcd user, or null without authentication
 * @param password the user's password (never taken from the command line), or null
 * @param caCert PEM file of the CA that signed etcd's certificate (https endpoints), or null for the JDK's
 * @param clientCert PEM client certificate when etcd asks for one, or null
 * @param clientKey PEM key of {@code clientCert}, or null
 */
public record EtcdOptions(List<URI> endpoints, String namespace, String user, String password, Path caCert, Path clientCert,
                          Path clientKey) {
    public EtcdOptions {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("--etcd needs at least one endpoint URL");
        }
        for (URI u : endpoints) {
            if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null || u.getPort() < 0) {
                throw new IllegalArgumentException("--etcd takes URLs such as http://127.0.0.1:2379, got " + u);
            }
        }
        Objects.requireNonNull(namespace, "namespace");
        if (user != null && password == null) {
            throw new IllegalArgumentException("--etcd-user " + user + " needs its password in XLLM_ETCD_PASSWORD");
        }
        if ((clientCert == null) != (clientKey == null)) {
            throw new IllegalArgumentException("--etcd-cert and --etcd-key go together");
        }
        for (Path p : new Path[] {caCert, clientCert, clientKey}) {
            if (p != null && !Files.isReadable(p)) {
                throw new IllegalArgumentException("cannot read " + p);
            }
        }
    }

    /** Parses {@code --etcd URL[,URL...]}. */
    public static List<URI> parseEndpoints(String list) {
        try {
            return java.util.Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(URI::create).toList();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--etcd takes URLs such as http://127.0.0.1:2379: " + e.getMessage());
        }
    }

    /** A client; it connects lazily and reconnects by itself after etcd restarts. */
    Client connect() {
        ClientBuilder b = Client.builder()
                .endpoints(endpoints.toArray(URI[]::new))
                .connectTimeout(Duration.ofSeconds(2))
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(3))
                .retryMaxDuration(Duration.ofSeconds(2));
        if (user != null) {
            b.user(bytes(user)).password(bytes(password));
        }
        if (endpoints.getFirst().getScheme().equals("https")) {
            try {
                b.sslContext(ssl -> {
                    if (caCert != null) {
                        ssl.trustManager(caCert.toFile());
                    }
                    if (clientCert != null) {
                        ssl.keyManager(clientCert.toFile(), clientKey.toFile());
                    }
                });
            } catch (SSLException e) {
                throw new IllegalArgumentException("cannot set up TLS to etcd: " + e.getMessage(), e);
            }
        }
        return b.build();
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
