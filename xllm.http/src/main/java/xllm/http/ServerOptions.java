package xllm.http;

import java.util.Objects;

/**
 * How the OpenAI-compatible server listens and whom it answers.
 *
 * @param host address to bind; loopback by default so that a server is never exposed by accident
 * @param port TCP port; 0 picks a free one (see {@link OpenAiServer#port()})
 * @param apiKey when not null, every {@code /v1/*} request must carry {@code Authorization: Bearer <apiKey>}
 * @param maxBodyBytes larger request bodies are refused with 413
 * @param servedModelName the model name clients must use; null means the service's own model id
 * @param limits timeouts and the connection cap
 * @param tls HTTPS from these files; null for plain HTTP
 * @param logRequests whether prompts and outputs are written to the log (never by default: they are the users')
 */
public record ServerOptions(String host, int port, String apiKey, long maxBodyBytes, String servedModelName,
                            ConnectionLimits limits, TlsFiles tls, boolean logRequests) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;

    public ServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(limits, "limits");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive, got " + maxBodyBytes);
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new IllegalArgumentException("apiKey must not be blank; pass null for no authentication");
        }
    }

    /** Loopback, plain HTTP, no API key, 4 MiB bodies, the service's model name, the default limits, no request log. */
    public static ServerOptions onPort(int port) {
        return new ServerOptions(DEFAULT_HOST, port, null, DEFAULT_MAX_BODY_BYTES, null, ConnectionLimits.DEFAULT, null, false);
    }

    /** {@code https} with TLS, else {@code http}. */
    public String scheme() {
        return tls == null ? "http" : "https";
    }

    public ServerOptions withHost(String value) {
        return new ServerOptions(value, port, apiKey, maxBodyBytes, servedModelName, limits, tls, logRequests);
    }

    public ServerOptions withApiKey(String value) {
        return new ServerOptions(host, port, value, maxBodyBytes, servedModelName, limits, tls, logRequests);
    }

    public ServerOptions withMaxBodyBytes(long value) {
        return new ServerOptions(host, port, apiKey, value, servedModelName, limits, tls, logRequests);
    }

    public ServerOptions withServedModelName(String value) {
        return new ServerOptions(host, port, apiKey, maxBodyBytes, value, limits, tls, logRequests);
    }

    public ServerOptions withLimits(ConnectionLimits value) {
        return new ServerOptions(host, port, apiKey, maxBodyBytes, servedModelName, value, tls, logRequests);
    }

    public ServerOptions withTls(TlsFiles value) {
        return new ServerOptions(host, port, apiKey, maxBodyBytes, servedModelName, limits, value, logRequests);
    }

    public ServerOptions withLogRequests(boolean value) {
        return new ServerOptions(host, port, apiKey, maxBodyBytes, servedModelName, limits, tls, value);
    }
}
