package xllm.sched.nodes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.agrona.collections.Long2LongHashMap;

/**
 * A node's presence in etcd: its registration under a lease of {@link #TTL_SECONDS} (xLLM's
 * {@code --etcd_ttl}), kept alive, with its load and cached prefix blocks published about every second.
 * Only changes to the cache are written, batched into transactions. When the lease is gone (etcd was down
 * longer than the lease, or the master router deregistered the node) the node registers again with a new
 * incarnation and publishes its whole cache; while etcd is unreachable it keeps trying, and serving goes on.
 * One thread of its own; {@link #close()} revokes the lease, which removes every key the node wrote.
 */
public final class NodeRegistration extends LeasedLoop {
    static final long TTL_SECONDS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long NONE = 0;
    private static final long MEMORY = 1;
    private static final long DISK = 2;
    private static final long GONE = -1;

    /**
     * @param name unique among the nodes
     * @param url where routers reach this node's HTTP API
     * @param role "mixed", "prefill" or "decode"
     * @param capacity requests the node runs at once, to weigh its load
     */
    public record Identity(String name, String url, String role, String model, int blockSize, int capacity) {
    }

    private final KV kv;
    private final NodeKeys keys;
    private final Identity identity;
    private final Supplier<NodeLoad> load;
    private final CachedBlocks blocks;
    /** Block hash to the tier published for it ({@link #MEMORY}, {@link #DISK}), and to the tier it is in now. */
    private final Long2LongHashMap published = new Long2LongHashMap(NONE);
    private final Long2LongHashMap current = new Long2LongHashMap(NONE);
    private String incarnation;
    private boolean unreachable;
    private int ticks;

    private NodeRegistration(EtcdOptions etcd, Identity identity, Supplier<NodeLoad> load, CachedBlocks blocks) {
        super(etcd.connect(), "xllm-etcd-registration");
        this.kv = client.getKVClient();
        this.keys = new NodeKeys(etcd.namespace());
        this.identity = identity;
        this.load = load;
        this.blocks = blocks;
    }

    /** Starts registering in the background; returns at once (etcd may be down now). */
    public static NodeRegistration start(EtcdOptions etcd, Identity identity, Supplier<NodeLoad> load, CachedBlocks blocks) {
        NodeRegistration r = new NodeRegistration(etcd, identity, load, blocks);
        r.startLoop();
        return r;
    }

    @Override
    void round() throws ExecutionException, InterruptedException, TimeoutException {
        tick();
        if (unreachable) {
            System.err.println("xllm: etcd reachable again");
            unreachable = false;
        }
    }

    @Override
    void failed(Exception e) {
        if (!unreachable) {
            System.err.println("xllm: etcd unreachable (" + EtcdCalls.rootMessage(e) + "); serving goes on, retrying every second");
            unreachable = true;
        }
    }

    private void tick() throws ExecutionException, InterruptedException, TimeoutException {
        if (lease != 0) {
            long ttl = EtcdCalls.await(client.getLeaseClient().keepAliveOnce(lease)).getTTL();
            // every few seconds, also see that the registration is still there: the master may have removed it
            if (ttl <= 0 || (++ticks % 5 == 0 && EtcdCalls.await(kv.get(registrationKey())).getCount() == 0)) {
                EtcdCalls.revokeQuietly(client, lease);
                lease = 0;
            }
        }
        if (lease == 0) {
            register();
        }
        EtcdCalls.await(kv.put(keys.load(identity.name()), EtcdOptions.bytes(loadJson()), leased()));
        publishCache();
    }

    private void register() throws ExecutionException, InterruptedException, TimeoutException {
        long granted = EtcdCalls.await(client.getLeaseClient().grant(TTL_SECONDS)).getID();
        incarnation = UUID.randomUUID().toString();
        lease = granted;
        published.clear();
        EtcdCalls.await(kv.put(registrationKey(), EtcdOptions.bytes(registrationJson()), leased()));
        System.err.println("xllm: registered in etcd as " + identity.name() + " (incarnation " + incarnation + ")");
    }

    /**
     * Writes what the cache gained, lost or moved between tiers since the last publication: the changes are
     * found first, then committed in transactions of at most {@link EtcdCalls#OPS_PER_TXN}, each counted as
     * published once it commits.
     */
    private void publishCache() throws ExecutionException, InterruptedException, TimeoutException {
        current.clear();
        blocks.forEachOnDisk(key -> current.put(key, DISK));
        blocks.forEach(key -> current.put(key, MEMORY)); // a block in both tiers is in memory
        Long2LongHashMap changes = new Long2LongHashMap(NONE);
        current.forEachLong((key, tier) -> {
            if (published.get(key) != tier) {
                changes.put(key, tier);
            }
        });
        published.forEachLong((key, tier) -> {
            if (current.get(key) == NONE) {
                changes.put(key, GONE);
            }
        });
        PutOption put = leased();
        List<Op> ops = new ArrayList<>();
        List<long[]> batch = new ArrayList<>();
        Long2LongHashMap.EntryIterator it = changes.entrySet().iterator();
        while (it.hasNext()) {
            it.next();
            long key = it.getLongKey();
            long tier = it.getLongValue();
            ops.add(tier == GONE ? Op.delete(keys.cache(key, identity.name()), DeleteOption.DEFAULT)
                    : Op.put(keys.cache(key, identity.name()), EtcdOptions.bytes(tier == MEMORY ? "memory" : "disk"), put));
            batch.add(new long[] {key, tier});
            if (ops.size() == EtcdCalls.OPS_PER_TXN || !it.hasNext()) {
                EtcdCalls.await(kv.txn().Then(ops.toArray(Op[]::new)).commit());
                for (long[] change : batch) {
                    if (change[1] == GONE) {
                        published.remove(change[0]);
                    } else {
                        published.put(change[0], change[1]);
                    }
                }
                ops.clear();
                batch.clear();
            }
        }
    }

    private PutOption leased() {
        return PutOption.builder().withLeaseId(lease).build();
    }

    private io.etcd.jetcd.ByteSequence registrationKey() {
        return keys.registration(NodeKeys.roleKey(identity.role()), identity.name());
    }

    private String registrationJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", identity.name());
        o.put("url", identity.url());
        o.put("incarnation", incarnation);
        o.put("role", identity.role());
        o.put("model", identity.model());
        o.put("block_size", identity.blockSize());
        o.put("capacity", identity.capacity());
        o.put("pid", ProcessHandle.current().pid());
        return o.toString();
    }

    private String loadJson() {
        NodeLoad l = load.get();
        ObjectNode o = JSON.createObjectNode();
        o.put("load", l.load());
        o.put("kv_usage", l.kvUsage());
        o.put("incarnation", incarnation);
        return o.toString();
    }

    /** Revokes the lease (every key of this node goes at once) and disconnects. */
    @Override
    public void close() {
        super.close();
        client.close();
    }
}
