package xllm.http.connection;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Closes a connection whose request does not arrive in time: its headers, then its body, must arrive within the
 * timeout, counted from the connection's opening for its first request and from the request line for each later
 * one. A connection idle between requests is Helidon's idle timer's to close.
 *
 * <p>Helidon runs an HTTP/1 connection, its requests' handlers included, on one virtual thread, which is where
 * every event here arrives: a deadline is kept per connection thread. It is set when the connection opens
 * ({@link #opened}) or a request line arrives, and lifted once the headers are in (for a request without a body),
 * the body has been read ({@link #bodyRead}), or the response has begun. A watchdog thread interrupts the thread of
 * a connection past its deadline, as Helidon's idle timer does: the socket read it is blocked in (a TLS handshake's
 * too) then fails and closes the channel, and the connection ends. Thread-safe.
 */
public final class RequestDeadlines implements Http1ConnectionListener, AutoCloseable {
    private static final long WATCH_PERIOD_NANOS = Duration.ofMillis(100).toNanos();

    /** @param opening whether it is the deadline of the connection's first request, counted from its opening */
    private record Deadline(long nanos, boolean opening) {
    }

    private final long timeoutNanos;
    private final ConcurrentHashMap<Thread, Deadline> armed = new ConcurrentHashMap<>();
    private final Thread watchdog;
    private volatile boolean closing;

    public RequestDeadlines(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        this.watchdog = Thread.ofPlatform().name("xllm-request-deadlines").daemon().start(this::watch);
    }

    /** A connection opened on the calling thread: its first request must arrive within the timeout. */
    void opened() {
        armed.put(Thread.currentThread(), new Deadline(System.nanoTime() + timeoutNanos, true));
    }

    /** The calling thread's connection ended. */
    void ended() {
        armed.remove(Thread.currentThread());
    }

    /** The request being handled on the calling thread has its body in full. */
    public void bodyRead() {
        armed.remove(Thread.currentThread());
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        long deadline = System.nanoTime() + timeoutNanos;
        armed.compute(Thread.currentThread(), (t, old) -> old != null && old.opening() ? old : new Deadline(deadline, false));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        boolean body = headers.contains(HeaderNames.TRANSFER_ENCODING) || headers.contentLength().orElse(0) > 0;
        if (!body) {
            armed.remove(Thread.currentThread());
        }
    }

    /** A send event: the response has begun, so the request is no longer awaited. */
    @Override
    public void status(ConnectionContext ctx, Status status) {
        armed.remove(Thread.currentThread());
    }

    private void watch() {
        while (!closing) {
            LockSupport.parkNanos(WATCH_PERIOD_NANOS);
            long now = System.nanoTime();
            armed.forEach((thread, deadline) -> {
                // removed first, so that a thread whose request came in time is never interrupted
                if (now - deadline.nanos() > 0 && armed.remove(thread, deadline)) {
                    thread.interrupt();
                }
            });
        }
    }

    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(watchdog);
    }
}
