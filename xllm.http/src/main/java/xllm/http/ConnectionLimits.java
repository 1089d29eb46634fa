package xllm.http;

import java.time.Duration;

/**
 * How long a connection may take and how many may be open: what keeps slow or idle clients from holding the
 * server's file descriptors.
 *
 * @param headerTimeout a request's headers, then its body, must arrive within it: counted from the connection's
 *     opening for its first request, from the request line for later ones; else the connection is closed
 * @param keepAliveTimeout a connection idle between requests this long is closed
 * @param maxConnections connections open at once; beyond them a request is answered 503 and its connection closed
 */
public record ConnectionLimits(Duration headerTimeout, Duration keepAliveTimeout, int maxConnections) {
    /** 30 s for a request to arrive; 60 s idle, above the 30 s the JDK's HTTP client keeps an idle connection; 2,048 connections. */
    public static final ConnectionLimits DEFAULT = new ConnectionLimits(Duration.ofSeconds(30), Duration.ofSeconds(60), 2048);
    /** The longest request line (method, URL, version); a longer one is answered 414. */
    public static final int MAX_REQUEST_LINE_BYTES = 4096;
    /** The most bytes of request headers; more are answered 431. */
    public static final int MAX_HEADER_BYTES = 16384;

    public ConnectionLimits {
        if (headerTimeout.isNegative() || headerTimeout.isZero()) {
            throw new IllegalArgumentException("the header timeout must be positive, got " + headerTimeout);
        }
        if (keepAliveTimeout.isNegative() || keepAliveTimeout.isZero()) {
            throw new IllegalArgumentException("the keep-alive timeout must be positive, got " + keepAliveTimeout);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("the connection limit must be at least 1, got " + maxConnections);
        }
    }
}
