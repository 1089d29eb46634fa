package xllm.sched.nodes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.agrona.collections.Long2LongHashMap;
import xllm.sched.cluster.PrefixMatch;

/**
 * A router's view of the nodes: membership and load read from etcd twice a second, the global prefix-cache
 * index mirrored through a watch, and each node's health probed every second. When etcd cannot be read the
 * last membership stands, so routing goes on; a node leaves it when its lease expires or its probe fails.
 * Thread-safe: one refresher and one prober thread, request threads read.
 */
final class NodeDirectory implements AutoCloseable {
    /** Nodes a router tells apart, one bit each in the cache index. */
    static final int MAX_NODES = 64;
    private static final long REFRESH_MILLIS = 500;
    private static final long PROBE_MILLIS = 1000;
    /** A node whose probes fail this long is deregistered by the master router, as xLLM's service does. */
    static final long DEREGISTER_AFTER_NANOS = TimeUnit.SECONDS.toNanos(15);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the router does when nodes come and go; called on the directory's threads. */
    interface Listener {
        /** The node can take requests now. */
        void nodeUp(Node node);

        /** The node stopped answering: what runs there will not finish. */
        void nodeDown(Node node);
    }

    private final Client client;
    private final KV kv;
    private final NodeKeys keys;
    private final HttpClient http;
    private final Listener listener;
    private final String servedModel;
    private final ConcurrentHashMap<String, Node> byName = new ConcurrentHashMap<>();
    /** Slots handed out so far; guarded by {@code byName}. */
    private int slots;
    /** Block hash to the nodes caching it, one bit per slot; guarded by itself. */
    private final Long2LongHashMap cache = new Long2LongHashMap(0);
    private final List<Thread> threads = new ArrayList<>();
    private volatile Watch.Watcher watcher;
    private volatile boolean resyncCache = true;
    private volatile boolean closed;
    private boolean unreachable;

    /** @param servedModel the model the router serves: nodes serving another get no requests */
    NodeDirectory(Client client, NodeKeys keys, HttpClient http, String servedModel, Listener listener) {
        this.client = client;
        this.servedModel = servedModel;
        this.kv = client.getKVClient();
        this.keys = keys;
        this.http = http;
        this.listener = listener;
    }

    void start() {
        threads.add(Thread.ofPlatform().name("xllm-nodes-refresh").daemon().start(() -> every(REFRESH_MILLIS, this::refresh)));
        threads.add(Thread.ofPlatform().name("xllm-nodes-probe").daemon().start(() -> every(PROBE_MILLIS, this::probeAll)));
    }

    List<Node> all() {
        return List.copyOf(byName.values());
    }

    List<Node> alive() {
        List<Node> out = new ArrayList<>();
        for (Node n : byName.values()) {
            if (n.alive()) {
                out.add(n);
            }
        }
        return out;
    }

    /** A probe or a stream to {@code node} failed: it takes no requests until a probe says it answers again. */
    void suspect(Node node) {
        if (node.failingSinceNanos == 0) {
            node.failingSinceNanos = System.nanoTime();
        }
        if (node.answering) {
            node.answering = false;
            System.err.println("xllm: node " + node.name + " stopped answering");
            listener.nodeDown(node);
        }
    }

    /**
     * Per node slot, how many leading full blocks of {@code prompt} that node caches; the last prompt token
     * is never counted, as it must be computed to sample the first output token.
     */
    int[] matchedBlocks(int[] prompt, int blockSize) {
        return PrefixMatch.matchedBlocks(prompt, blockSize, MAX_NODES, hash -> {
            synchronized (cache) {
                return cache.get(hash);
            }
        });
    }

    /** How many blocks this router's copy of the index lists on {@code node}: what prefix routing sees of it. */
    int cachedBlocks(Node node) {
        long bit = 1L << node.slot;
        int count = 0;
        synchronized (cache) {
            Long2LongHashMap.ValueIterator holders = cache.values().iterator();
            while (holders.hasNext()) {
                if ((holders.nextValue() & bit) != 0) {
                    count++;
                }
            }
        }
        return count;
    }

    // ---- membership and load ----

    private void refresh() {
        try {
            if (resyncCache) {
                resyncCache();
            }
            readMembership();
            readLoads();
            if (unreachable) {
                System.err.println("xllm: etcd reachable again");
                unreachable = false;
            }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            if (!unreachable) {
                System.err.println("xllm: etcd unreachable (" + EtcdCalls.rootMessage(e)
                        + "); routing goes on with the last known nodes");
                unreachable = true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void readMembership() throws ExecutionException, InterruptedException, TimeoutException {
        Set<String> seen = new HashSet<>();
        for (String role : NodeKeys.ROLES) {
            ByteSequence prefix = keys.registrations(role);
            for (KeyValue kvp : EtcdCalls.await(kv.get(prefix, GetOption.builder().isPrefix(true).build())).getKvs()) {
                String name = NodeKeys.after(kvp.getKey(), prefix);
                Node node = name == null ? null : node(name);
                if (node == null) {
                    continue;
                }
                JsonNode info = parse(kvp.getValue());
                if (info == null || !info.path("url").isTextual()) {
                    continue;
                }
                String model = info.path("model").asText("");
                if (!model.equals(servedModel)) {
                    if (!model.equals(node.model)) {
                        System.err.println("xllm: node " + name + " serves model " + model + ", not " + servedModel + ": it gets no requests");
                    }
                    node.model = model;
                    continue;
                }
                node.url = info.path("url").asText();
                node.role = NodeKeys.roleLabel(role);
                node.model = model;
                node.blockSize = info.path("block_size").asInt(0);
                node.capacity = Math.max(1, info.path("capacity").asInt(64));
                String incarnation = info.path("incarnation").asText(null);
                boolean restarted = node.incarnation != null && !node.incarnation.equals(incarnation);
                node.incarnation = incarnation;
                seen.add(name);
                if (!node.registered || restarted) {
                    node.registered = true;
                    System.err.println("xllm: node " + name + " at " + node.url + " registered (incarnation " + incarnation + ")");
                    if (node.alive()) {
                        listener.nodeUp(node);
                    }
                }
            }
        }
        // a node that left etcd takes no new requests; its streams go on while it answers (etcd may have lost it alone)
        for (Node node : byName.values()) {
            if (node.registered && !seen.contains(node.name)) {
                node.registered = false;
                System.err.println("xllm: node " + node.name + " left (its lease expired or it was deregistered)");
            }
        }
    }

    private void readLoads() throws ExecutionException, InterruptedException, TimeoutException {
        ByteSequence prefix = keys.loads();
        for (KeyValue kvp : EtcdCalls.await(kv.get(prefix, GetOption.builder().isPrefix(true).build())).getKvs()) {
            String name = NodeKeys.after(kvp.getKey(), prefix);
            Node node = name == null ? null : byName.get(name);
            JsonNode load = parse(kvp.getValue());
            if (node != null && load != null) {
                node.load = load.path("load").asInt(0);
                node.kvUsage = load.path("kv_usage").asDouble(0);
            }
        }
    }

    // ---- the prefix-cache index ----

    /** Reads the whole index, then follows it with a watch from the revision read. */
    private void resyncCache() throws ExecutionException, InterruptedException, TimeoutException {
        Watch.Watcher old = watcher;
        if (old != null) {
            old.close();
        }
        ByteSequence prefix = keys.cachePrefix();
        GetResponse all = EtcdCalls.await(kv.get(prefix, GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
        synchronized (cache) {
            cache.clear();
            for (KeyValue kvp : all.getKvs()) {
                applyCache(kvp.getKey(), true);
            }
        }
        WatchOption from = WatchOption.builder().isPrefix(true).withRevision(all.getHeader().getRevision() + 1).build();
        watcher = client.getWatchClient().watch(prefix, from, Watch.listener(this::cacheChanged, e -> resyncCache = true));
        resyncCache = false;
    }

    private void cacheChanged(WatchResponse response) {
        synchronized (cache) {
            for (WatchEvent e : response.getEvents()) {
                applyCache(e.getKeyValue().getKey(), e.getEventType() == WatchEvent.EventType.PUT);
            }
        }
    }

    /** Holds {@code cache}. */
    private void applyCache(ByteSequence key, boolean present) {
        String tail = NodeKeys.after(key, keys.cachePrefix());
        NodeKeys.CacheEntry entry = tail == null ? null : NodeKeys.parseCache(tail);
        Node node = entry == null ? null : node(entry.node());
        if (node == null) {
            return;
        }
        long bit = 1L << node.slot;
        long holders = cache.get(entry.blockHash());
        holders = present ? holders | bit : holders & ~bit;
        if (holders == 0) {
            cache.remove(entry.blockHash());
        } else {
            cache.put(entry.blockHash(), holders);
        }
    }

    // ---- probes ----

    private void probeAll() {
        List<Node> nodes = new ArrayList<>();
        List<CompletableFuture<HttpResponse<Void>>> probes = new ArrayList<>();
        for (Node n : byName.values()) {
            if (n.registered && n.url != null) {
                nodes.add(n);
                probes.add(http.sendAsync(HttpRequest.newBuilder(URI.create(n.url + "/health")).timeout(Duration.ofSeconds(1)).build(),
                        HttpResponse.BodyHandlers.discarding()));
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            boolean ok;
            try {
                ok = probes.get(i).get(2, TimeUnit.SECONDS).statusCode() == 200;
            } catch (ExecutionException | TimeoutException e) {
                ok = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (ok) {
                n.failingSinceNanos = 0;
                if (!n.answering) {
                    n.answering = true;
                    if (n.alive()) {
                        System.err.println("xllm: node " + n.name + " answers");
                        listener.nodeUp(n);
                    }
                }
            } else {
                suspect(n);
            }
        }
    }

    // ---- the master's cleanup ----

    /**
     * Removes from etcd every node whose probes have failed for {@link #DEREGISTER_AFTER_NANOS}: its
     * registration, load and cache entries (a node that recovers registers again). Only the master calls it.
     */
    void deregisterUnanswering() throws ExecutionException, InterruptedException, TimeoutException {
        long now = System.nanoTime();
        for (Node n : byName.values()) {
            long since = n.failingSinceNanos;
            if (!n.registered || since == 0 || now - since < DEREGISTER_AFTER_NANOS) {
                continue;
            }
            List<Op> ops = new ArrayList<>();
            ops.add(Op.delete(keys.registration(NodeKeys.roleKey(n.role), n.name), DeleteOption.DEFAULT));
            ops.add(Op.delete(keys.load(n.name), DeleteOption.DEFAULT));
            EtcdCalls.await(kv.txn().Then(ops.toArray(Op[]::new)).commit());
            List<Long> blocks = new ArrayList<>();
            long bit = 1L << n.slot;
            synchronized (cache) {
                cache.forEachLong((hash, holders) -> {
                    if ((holders & bit) != 0) {
                        blocks.add(hash);
                    }
                });
            }
            for (int i = 0; i < blocks.size(); i += EtcdCalls.OPS_PER_TXN) {
                Op[] batch = blocks.subList(i, Math.min(blocks.size(), i + EtcdCalls.OPS_PER_TXN)).stream()
                        .map(h -> Op.delete(keys.cache(h, n.name), DeleteOption.DEFAULT)).toArray(Op[]::new);
                EtcdCalls.await(kv.txn().Then(batch).commit());
            }
            System.err.println("xllm: deregistered node " + n.name + ": no answer for "
                    + TimeUnit.NANOSECONDS.toSeconds(now - since) + " s");
        }
    }

    // ---- helpers ----

    /** The node named {@code name}, made when first heard of; null when the router already tells apart as many as it can. */
    private Node node(String name) {
        Node n = byName.get(name);
        if (n != null) {
            return n;
        }
        synchronized (byName) {
            n = byName.get(name);
            if (n == null) {
                if (slots == MAX_NODES) {
                    return null;
                }
                n = new Node(name, slots++);
                byName.put(name, n);
            }
            return n;
        }
    }

    private static JsonNode parse(ByteSequence value) {
        try {
            return JSON.readTree(value.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return null;
        }
    }

    private void every(long millis, Runnable action) {
        while (!closed) {
            action.run();
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            t.interrupt();
        }
        Watch.Watcher w = watcher;
        if (w != null) {
            w.close();
        }
    }
}
