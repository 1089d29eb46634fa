package xllm.http.connection;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.concurrency.limits.FixedLimit;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.task.InterruptableTask;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one way into the server's HTTP/1 connections: each is counted and given the deadline of its first request
 * ({@link RequestDeadlines}); beyond {@code maxConnections} open at once, a connection's request is answered 503
 * and the connection closed, rather than accepted to fail later when file descriptors run out. As the listener's
 * only selector it is asked for every connection as soon as it is accepted, before a byte is read. Thread-safe.
 */
public final class ConnectionGate implements ServerConnectionSelector {
    /** Refuses every request: Helidon answers 503 and closes the connection. */
    private static final Limit REFUSE_ALL = FixedLimit.create(new Semaphore(0));

    private final ServerConnectionSelector http1;
    private final RequestDeadlines deadlines;
    private final int maxConnections;
    private final AtomicInteger open = new AtomicInteger();

    public ConnectionGate(ServerConnectionSelector http1, RequestDeadlines deadlines, int maxConnections) {
        this.http1 = http1;
        this.deadlines = deadlines;
        this.maxConnections = maxConnections;
    }

    @Override
    public int bytesToIdentifyConnection() {
        return http1.bytesToIdentifyConnection();
    }

    @Override
    public Support supports(BufferData data) {
        return http1.supports(data);
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return http1.supportedApplicationProtocols();
    }

    /** Called on the connection's own thread, which then handles it. */
    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        ServerConnection connection = http1.connection(ctx);
        deadlines.opened();
        return new Counted(connection, open.incrementAndGet() <= maxConnections);
    }

    /** A connection that leaves the count when it ends; one over the limit has its requests refused. */
    private final class Counted implements ServerConnection, InterruptableTask<Void> {
        private final ServerConnection connection;
        private final boolean admitted;

        Counted(ServerConnection connection, boolean admitted) {
            this.connection = connection;
            this.admitted = admitted;
        }

        @Override
        public void handle(Limit limit) throws InterruptedException {
            try {
                connection.handle(admitted ? limit : REFUSE_ALL);
            } finally {
                open.decrementAndGet();
                deadlines.ended();
            }
        }

        @Override
        public Duration idleTime() {
            return connection.idleTime();
        }

        @Override
        public void close(boolean interrupt) {
            connection.close(interrupt);
        }

        @Override
        public boolean canInterrupt() {
            return connection instanceof InterruptableTask<?> task && task.canInterrupt();
        }
    }
}
