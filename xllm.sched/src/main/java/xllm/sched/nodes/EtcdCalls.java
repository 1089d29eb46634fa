package xllm.sched.nodes;

import io.etcd.jetcd.Client;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** How this package waits on etcd and reads its failures: every call bounded, so a dead etcd never hangs a thread. */
final class EtcdCalls {
    static final long TIMEOUT_MILLIS = 2000;
    /** Operations in one transaction: well under etcd's default limit of 128. */
    static final int OPS_PER_TXN = 100;

    private EtcdCalls() {
    }

    static <T> T await(CompletableFuture<T> f) throws ExecutionException, InterruptedException, TimeoutException {
        return f.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Revokes {@code lease} if etcd answers in time; otherwise it expires on its own. */
    static void revokeQuietly(Client client, long lease) {
        try {
            await(client.getLeaseClient().revoke(lease));
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // it expires on its own
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True when etcd says the lease no longer exists. */
    static boolean leaseGone(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("lease not found")) {
                return true;
            }
        }
        return false;
    }

    /** The innermost message of a failure, for a one-line log. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
