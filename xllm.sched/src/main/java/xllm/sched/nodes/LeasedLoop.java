package xllm.sched.nodes;

import io.etcd.jetcd.Client;

/**
 * A thread that works with etcd about once a second under a lease of its own: a round that fails (etcd
 * down, a call timed out) is retried at the next second, and a lease etcd no longer knows is dropped so that
 * the next round takes a new one. Closing stops the thread and revokes the lease, taking every key written
 * under it along.
 */
abstract class LeasedLoop implements AutoCloseable {
    private static final long PERIOD_MILLIS = 1000;

    final Client client;
    /** The lease this loop writes under; 0 while it has none. Touched by the loop's thread only. */
    long lease;
    private final Thread thread;
    private volatile boolean closed;

    LeasedLoop(Client client, String threadName) {
        this.client = client;
        this.thread = Thread.ofPlatform().name(threadName).daemon().unstarted(this::run);
    }

    final void startLoop() {
        thread.start();
    }

    /** One round of work; throws when etcd could not be reached or refused. */
    abstract void round() throws Exception;

    /** A round failed; {@link #lease} is already 0 when the lease was gone. */
    abstract void failed(Exception e);

    private void run() {
        while (!closed) {
            try {
                round();
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (EtcdCalls.leaseGone(e)) {
                    lease = 0;
                }
                failed(e);
            }
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (lease != 0) {
            EtcdCalls.revokeQuietly(client, lease);
        }
    }
}
