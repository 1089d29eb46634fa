package xllm.sched.cluster;

import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.JobService;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.sched.Admission;
import xllm.sched.ServedText;
import xllm.sched.ServiceMetrics;

/**
 * Lets a request into the router: checks it against the model and the workers' limits, journals it as
 * a flight, and when an earlier router had accepted it, takes that request over with the tokens its client
 * already got. Called on request threads; thread-safe.
 */
final class ClusterAdmission {
    private final ServedText text;
    private final WorkerLink[] links;
    private final JournaledFlights flights;
    private final RecoveredRequests recovered;
    private final ClusterMetrics metrics;
    private final ServiceMetrics serviceMetrics;
    private final int blockSize;
    private final int queueCapacity;

    /** @param queueCapacity requests the router holds at most, across all workers */
    ClusterAdmission(ServedText text, WorkerLink[] links, JournaledFlights flights, RecoveredRequests recovered,
                     ClusterMetrics metrics, ServiceMetrics serviceMetrics, int blockSize, int queueCapacity) {
        this.text = text;
        this.links = links;
        this.flights = flights;
        this.recovered = recovered;
        this.metrics = metrics;
        this.serviceMetrics = serviceMetrics;
        this.blockSize = blockSize;
        this.queueCapacity = queueCapacity;
    }

    /**
     * The admitted flight, to be routed; null when it needs no worker: it had already ended under the
     * earlier router, or its id is in flight (then {@code sink} is told it was aborted).
     */
    Flight admit(GenerateRequest request, int[] emitted, TokenSink sink) {
        text.checkIds(request.promptIds(), "prompt");
        text.checkContext(request.promptLength(), request.params().maxTokens());
        int smallestCache = smallestKvCache();
        if (smallestCache > 0) {
            Admission.requireKvCapacity(request, smallestCache, blockSize, "a worker");
        }
        Admission.requireQueueRoom(flights.size() + 1, queueCapacity, "");
        RecoveredRequest earlier = recovered.claim(request.requestId());
        GenerateRequest effective = earlier != null ? earlier.request() : request;
        boolean offline = request.requestId().startsWith(JobService.REQUEST_ID_PREFIX);
        Flight flight = flights.admit(effective, offline, sink, serviceMetrics);
        if (flight == null) {
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return null;
        }
        metrics.admitted.increment();
        if (earlier == null) {
            if (emitted.length > 0) {
                flights.continueAfter(flight, emitted);
            }
            return flight;
        }
        flight.replay(earlier.tokens());
        FinishReason ended = earlier.endedBy(text.eosTokenIds(), text.info().maxModelLength());
        if (ended != null) {
            flights.end(flight, ended);
            return null;
        }
        metrics.resumed.increment();
        return flight;
    }

    /** KV blocks of the smallest worker cache heard of, or 0 before any heartbeat. */
    private int smallestKvCache() {
        int smallest = 0;
        for (WorkerLink l : links) {
            int total = l.lastBeat.totalBlocks();
            if (total > 0 && (smallest == 0 || total < smallest)) {
                smallest = total;
            }
        }
        return smallest;
    }
}
