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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Which router is master, as xLLM's service decides it: the one that created {@code XLLM:SERVICE:MASTER}
 * under its lease. Every router tries each second; while the key exists only its holder succeeds, and when
 * the holder dies its lease expires ({@link NodeRegistration#TTL_SECONDS}) and the next try of a standby wins.
 * The master runs the single duties each second. One thread of its own; closing gives mastership up at once
 * (the lease goes, and the key with it) so that a standby need not wait for the lease to expire.
 */
final class MasterLease extends LeasedLoop {
    /** What only the master does; runs on this class's thread. */
    interface Duty {
        void run() throws Exception;
    }

    private final ByteSequence key;
    private final ByteSequence name;
    private final Duty duty;
    private volatile boolean master;

    MasterLease(Client client, NodeKeys keys, String routerName, Duty duty) {
        super(client, "xllm-master");
        this.key = keys.master();
        this.name = EtcdOptions.bytes(routerName);
        this.duty = duty;
    }

    void start() {
        startLoop();
    }

    boolean master() {
        return master;
    }

    @Override
    void round() throws Exception {
        campaign();
        if (master) {
            duty.run();
        }
    }

    @Override
    void failed(Exception e) {
        if (lease == 0) {
            becomeStandby();
        }
    }

    private void campaign() throws ExecutionException, InterruptedException, TimeoutException {
        if (lease != 0 && EtcdCalls.await(client.getLeaseClient().keepAliveOnce(lease)).getTTL() <= 0) {
            lease = 0;
            becomeStandby();
        }
        if (lease == 0) {
            lease = EtcdCalls.await(client.getLeaseClient().grant(NodeRegistration.TTL_SECONDS)).getID();
        }
        TxnResponse r = EtcdCalls.await(client.getKVClient().txn()
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
}
