package xllm.sched.nodes;

import io.etcd.jetcd.Client;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.NodePool;
import xllm.api.NodeStatus;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.model.ModelConfig;
import xllm.engine.tokenizer.Tokenizer;
import xllm.sched.Admission;
import xllm.sched.PrometheusText;
import xllm.sched.ServedText;
import xllm.sched.ServedTextService;
import xllm.sched.ServiceMetrics;
import xllm.sched.cluster.Flight;
import xllm.sched.cluster.NodeWire;
import xllm.sched.cluster.PrefixAwareRouting;

/**
 * The router of nodes on several machines, as the HTTP layer sees it: text in and out through the model's
 * tokenizer (no weights), each request sent to the node that scores best by cached prefix and load
 * ({@link PrefixAwareRouting} over the global index in etcd) and its tokens streamed back over HTTP
 * ({@link NodeWire}). A request whose node dies or stops answering resumes on another node from the prompt
 * and the tokens its client already has: a token is taken only from the node that holds the request and
 * only at the next position ({@link Flight}), so none is lost or shown twice. Thread-safe.
 */
public final class NodeRouterService implements ServedTextService, NodePool, AutoCloseable {
    /**
     * @param routerName unique among the routers; names this router in the master key
     * @param apiKey sent to the nodes, or null when they need none
     * @param maxQueued requests the router holds at most
     * @param nodeTls how nodes whose URL is https are trusted; null for the JDK's trusted CAs
     */
    public record Options(EtcdOptions etcd, String routerName, Path modelDir, String servedModelName, String apiKey, int maxQueued,
                          javax.net.ssl.SSLContext nodeTls) {
    }

    /** A request and where it runs now. */
    private static final class Routed {
        final Flight flight;
        volatile Node node;
        volatile NodeCall call;

        Routed(Flight flight) {
            this.flight = flight;
        }
    }

    private final Options options;
    private final ServedText text;
    private final ServiceMetrics metrics;
    private final Client client;
    private final HttpClient http;
    private final NodeDirectory directory;
    private final MasterLease masterLease;
    private final ConcurrentHashMap<String, Routed> flights = new ConcurrentHashMap<>();
    private final ArrayDeque<Routed> orphans = new ArrayDeque<>();
    private final Object placement = new Object();
    private final AtomicLong keys = new AtomicLong();
    /** Each placement of a request on a node is one attempt; its number is the flight's holder. */
    private final AtomicInteger attempts = new AtomicInteger();
    private final LongAdder resumed = new LongAdder();
    private final LongAdder prefixRouted = new LongAdder();
    private final LongAdder loadRouted = new LongAdder();

    private NodeRouterService(Options options) {
        this.options = options;
        this.text = new ServedText(Tokenizer.forModel(options.modelDir()), ModelConfig.forModel(options.modelDir()),
                options.servedModelName(), Instant.now().getEpochSecond());
        this.metrics = new ServiceMetrics(options.servedModelName());
        this.client = options.etcd().connect();
        HttpClient.Builder toNodes = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2));
        if (options.nodeTls() != null) {
            toNodes.sslContext(options.nodeTls());
        }
        this.http = toNodes.build();
        NodeKeys keys = new NodeKeys(options.etcd().namespace());
        this.directory = new NodeDirectory(client, keys, http, options.servedModelName(), new NodeDirectory.Listener() {
            @Override
            public void nodeUp(Node node) {
                placeOrphans();
            }

            @Override
            public void nodeDown(Node node) {
                moveOff(node);
            }
        });
        this.masterLease = new MasterLease(client, keys, options.routerName(), directory::deregisterUnanswering);
        metrics.gauges(() -> flights.size(), () -> orphans.size(), () -> 0);
    }

    /** Loads the tokenizer and starts following the nodes in etcd; returns at once. */
    public static NodeRouterService start(Options options) {
        NodeRouterService service = new NodeRouterService(options);
        service.directory.start();
        service.masterLease.start();
        return service;
    }

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        resume(request, new int[0], sink);
    }

    @Override
    public void resume(GenerateRequest request, int[] emitted, TokenSink sink) {
        text.checkIds(request.promptIds(), "prompt");
        text.checkContext(request.promptLength(), request.params().maxTokens());
        Admission.requireQueueRoom(flights.size() + 1, options.maxQueued(), "");
        if (directory.alive().isEmpty()) {
            throw new ServiceException(ServiceException.Kind.UNAVAILABLE, notReadyReason(), null);
        }
        Routed routed = new Routed(new Flight(keys.incrementAndGet(), request, sink, metrics));
        if (emitted.length > 0) {
            routed.flight.continueAfter(emitted);
        }
        if (flights.putIfAbsent(request.requestId(), routed) != null) {
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return;
        }
        place(routed);
    }

    @Override
    public void abort(String requestId) {
        Routed routed = flights.get(requestId);
        if (routed == null) {
            return;
        }
        routed.flight.abort();
        synchronized (placement) {
            orphans.remove(routed);
        }
        NodeCall call = routed.call;
        if (call != null) {
            call.cancel();
        }
        end(routed, FinishReason.ABORT);
    }

    /** Puts a request on the best live node and starts streaming from it, or parks it until a node answers. */
    private void place(Routed routed) {
        Flight flight = routed.flight;
        int attempt;
        int[] emitted;
        Node target;
        NodeCall call;
        synchronized (placement) {
            List<Node> live = directory.alive();
            if (live.isEmpty()) {
                orphans.add(routed);
                flight.assign(Flight.UNASSIGNED);
                return;
            }
            int blockSize = live.getFirst().blockSize;
            int[] matched = directory.matchedBlocks(flight.request.promptIds(), blockSize);
            target = choose(live, matched, blockSize <= 0 ? 0 : (flight.request.promptLength() - 1) / blockSize);
            attempt = attempts.incrementAndGet();
            emitted = flight.assign(attempt);
            if (emitted == null) {
                return;
            }
            call = new NodeCall(http, target, options.apiKey());
            routed.node = target;
            routed.call = call;
            target.assigned.incrementAndGet();
        }
        Thread.ofVirtual().name("xllm-node-call").start(() -> stream(routed, target, call, attempt, emitted));
    }

    private Node choose(List<Node> live, int[] matched, int promptBlocks) {
        List<PrefixAwareRouting.Candidate> candidates = new ArrayList<>(live.size());
        int capacity = 1;
        for (Node n : live) {
            candidates.add(new PrefixAwareRouting.Candidate(n.slot, matched[n.slot], n.kvUsage, n.loadSeen()));
            capacity = Math.max(capacity, n.capacity);
        }
        PrefixAwareRouting.Route route = PrefixAwareRouting.choose(candidates, promptBlocks, capacity);
        (route.prefix() ? prefixRouted : loadRouted).increment();
        for (Node n : live) {
            if (n.slot == route.worker()) {
                return n;
            }
        }
        throw new IllegalStateException("the route names no live node");
    }

    /** Streams one attempt; when the node fails the request moves on, unless it ended or moved meanwhile. */
    private void stream(Routed routed, Node node, NodeCall call, int attempt, int[] emitted) {
        Flight flight = routed.flight;
        GenerateRequest request = flight.request;
        // each attempt has its own id on the nodes: a node that lost its router's stream may still hold the last one
        GenerateRequest onNode = new GenerateRequest(request.requestId() + "@" + attempt, request.promptIds(), request.params(),
                request.priority(), request.topLogprobs(), request.offline(), request.structuredOutput());
        NodeCall.Outcome outcome = call.run(NodeWire.encodeRequest(onNode, emitted), new NodeWire.Frames() {
            @Override
            public void token(int position, int token, Logprobs logprobs) {
                flight.token(attempt, position, token, logprobs);
            }

            @Override
            public void finished(FinishReason reason, Usage usage) {
                if (flight.finish(attempt, reason, usage)) {
                    flights.remove(request.requestId(), routed);
                }
            }
        });
        node.assigned.decrementAndGet();
        if (outcome == NodeCall.Outcome.ENDED || flight.worker() != attempt) {
            return;
        }
        if (flight.aborted()) {
            end(routed, FinishReason.ABORT);
        } else if (outcome == NodeCall.Outcome.REFUSED) {
            System.err.println("xllm: node " + node.name + " refused request " + request.requestId() + ": " + call.refusal);
            end(routed, FinishReason.ABORT);
        } else {
            directory.suspect(node);
            resumed.increment();
            place(routed);
        }
    }

    /** A node went down: its requests' streams are closed, and each moves to another node as its stream ends. */
    private void moveOff(Node node) {
        for (Routed r : flights.values()) {
            NodeCall call = r.call;
            if (r.node == node && call != null) {
                call.cancel();
            }
        }
    }

    private void placeOrphans() {
        List<Routed> waiting;
        synchronized (placement) {
            waiting = new ArrayList<>(orphans);
            orphans.clear();
        }
        for (Routed r : waiting) {
            place(r);
        }
    }

    private void end(Routed routed, FinishReason reason) {
        routed.flight.finishHere(reason);
        flights.remove(routed.flight.request.requestId(), routed);
    }

    @Override
    public List<NodeStatus> nodes() {
        List<NodeStatus> out = new ArrayList<>();
        for (Node n : directory.all()) {
            if (n.url != null) {
                out.add(new NodeStatus(n.name, n.url, n.role, n.alive(), n.loadSeen(), directory.cachedBlocks(n)));
            }
        }
        out.sort(java.util.Comparator.comparing(NodeStatus::name));
        return out;
    }

    @Override
    public boolean master() {
        return masterLease.master();
    }

    @Override
    public String notReadyReason() {
        return "no node is available to serve the request; retry later";
    }

    /** True while some node can take requests. */
    @Override
    public boolean ready() {
        return !directory.alive().isEmpty();
    }





    @Override
    public ServedText servedText() {
        return text;
    }

    @Override
    public String metricsText() {
        StringBuilder out = new StringBuilder(metrics.render());
        PrometheusText.family(out, "xllm:router_routed_total", "counter", "Requests placed on a node, by whether a cached prefix decided it.");
        PrometheusText.sample(out, "xllm:router_routed_total", "by=\"prefix\"", prefixRouted.sum());
        PrometheusText.sample(out, "xllm:router_routed_total", "by=\"load\"", loadRouted.sum());
        PrometheusText.counter(out, "xllm:router_resumed_total", "Requests moved to another node after theirs failed.", resumed.sum());
        PrometheusText.gauge(out, "xllm:router_nodes_alive", "Nodes registered and answering.", directory.alive().size());
        PrometheusText.gauge(out, "xllm:router_is_master", "Whether this router holds the master duties.", master() ? 1 : 0);
        return out.toString();
    }

    /** Gives mastership up, ends what is left, and disconnects. */
    @Override
    public void close() {
        masterLease.close();
        directory.close();
        for (Routed r : flights.values()) {
            NodeCall call = r.call;
            if (call != null) {
                call.cancel();
            }
            end(r, FinishReason.ABORT);
        }
        client.close();
    }
}
