package xllm.sched.nodes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Which router is master, as xLLM's service decides it: the one that created {@code XLLM:SERVICE:MASTER}
 * under its lease. Every router tries each second; while the key exists only its holder succeeds, and when
 * the holder dies its lease expires ({@link NodeRegistration#TTL_SECONDS}) and the next try of a standby wins.
 * The master runs the single duties each second. One thread of its own.
 */
final class MasterLease implements AutoCloseable {
    private static final long PERIOD_MILLIS = 1000;
    private static final long OP_TIMEOUT_MILLIS = 2000;

    /** What only the master does; runs on this class's thread. */
    interface Duty {
        void run() throws Exception;
    }

    private final Client client;
    private final ByteSequence key;
    private final ByteSequence name;
    private final Duty duty;
    private final Thread thread;
    private volatile boolean master;
    private volatile boolean closed;
    private long lease;

    MasterLease(Client client, NodeKeys keys, String routerName, Duty duty) {
        this.client = client;
        this.key = keys.master();
        this.name = EtcdOptions.bytes(routerName);
        this.duty = duty;
        this.thread = Thread.ofPlatform().name("xllm-master").daemon().unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    boolean master() {
        return master;
    }

    private void run() {
        while (!closed) {
            try {
                campaign();
                if (master) {
                    duty.run();
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (NodeRegistration.leaseGone(e)) {
                    lease = 0;
                    becomeStandby();
                }
            }
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void campaign() throws ExecutionException, InterruptedException, TimeoutException {
        if (lease != 0 && await(client.getLeaseClient().keepAliveOnce(lease)).getTTL() <= 0) {
            lease = 0;
            becomeStandby();
        }
        if (lease == 0) {
            lease = await(client.getLeaseClient().grant(NodeRegistration.TTL_SECONDS)).getID();
        }
        TxnResponse r = await(client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, name, PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit());
        boolean holds = r.isSucceeded() || (!r.getGetResponses().isEmpty() && !r.getGetResponses().getFirst().getKvs().isEmpty()
                && r.getGetResponses().getFirst().getKvs().getFirst().getLease() == lease);
        if (holds && !master) {
            master = true;
            System.err.println("xllm: this router (" + name.toString(StandardCharsets.UTF_8) + ") is now the master");
        } else if (!holds) {
            becomeStandby();
        }
    }

    private void becomeStandby() {
        if (master) {
            master = false;
            System.err.println("xllm: this router is no longer the master");
        }
    }

    private static <T> T await(CompletableFuture<T> f) throws ExecutionException, InterruptedException, TimeoutException {
        return f.get(OP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Gives mastership up at once (the lease goes, and with it the key) so a standby need not wait for it. */
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
            try {
                client.getLeaseClient().revoke(lease).get(OP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                // it expires on its own
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
