package xllm.sched.cluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import xllm.api.FinishReason;

/**
 * Decides where each flight runs and moves flights as workers come and go. A new prompt goes to a worker
 * whose role prefills, the one that scores best by cached prefix and load ({@link PrefixAwareRouting}, or the
 * {@link PlacementPolicy} when roles follow SLOs); on a prefill worker while a decode worker is alive it runs to
 * its first token only, and its KV is then handed to a decode worker ({@link #handedOff}). A request with
 * tokens already sent (its worker died) resumes on a decode worker by recomputing. With nothing alive in a
 * role, the other role does the whole request; with no worker alive, flights wait among the orphans.
 * Thread-safe: request threads route and abort, event threads bring in a worker that answers and hand
 * flights over, the supervisor's thread moves a dead worker's flights; every move holds one lock, so a flight
 * is never on two workers.
 */
final class FlightRouter {
    /** How the router picks workers when roles follow SLOs; null for the static policy. */
    interface PlacementPolicy {
        /** The worker to compute a prompt of {@code promptTokens} tokens, among {@code live}; -1 for none. */
        int choosePrefill(List<WorkerLink> live, int promptTokens);

        /** The worker to decode a request of {@code contextTokens} tokens so far, among {@code live}; -1 for none. */
        int chooseDecode(List<WorkerLink> live, int contextTokens);
    }

    private final WorkerLink[] links;
    private final KvIndex index;
    private final JournaledFlights flights;
    private final ClusterMetrics metrics;
    private final int blockSize;
    private final int maxNumSeqs;
    private final PlacementPolicy policy;
    private final ArrayDeque<Flight> orphans = new ArrayDeque<>();
    private final Object placement = new Object();

    /**
     * @param blockSize KV block size of every worker, for prefix keys
     * @param maxNumSeqs requests a worker runs at once, to weigh its load
     * @param policy how to pick workers under SLO-driven roles; null for prefix and load alone
     */
    FlightRouter(WorkerLink[] links, KvIndex index, JournaledFlights flights, ClusterMetrics metrics, int blockSize,
                 int maxNumSeqs, PlacementPolicy policy) {
        this.links = links;
        this.index = index;
        this.flights = flights;
        this.metrics = metrics;
        this.blockSize = blockSize;
        this.maxNumSeqs = maxNumSeqs;
        this.policy = policy;
    }

    /** Sends a newly admitted flight to the worker that caches most of its prompt, load allowing. */
    void route(Flight flight) {
        int[] matched = matchedBlocks(flight);
        synchronized (placement) {
            place(flight, matched);
        }
    }

    /** Stops a flight: at once when no worker holds it, else by telling its worker, which then ends it. */
    void abort(Flight flight) {
        synchronized (placement) {
            int worker = flight.abort();
            if (worker == Flight.UNASSIGNED) {
                orphans.remove(flight);
                flights.end(flight, FinishReason.ABORT);
            } else {
                MessageCodec.writeAbort(links[worker].requests, flight.key, flight.request.requestId());
            }
        }
    }

    /** A worker answered for the first time since it started: it takes the flights waiting for one. */
    void workerAnswered(WorkerLink link, long pid) {
        synchronized (placement) {
            link.alive = true;
            System.err.println("xllm: worker " + link.id + " (pid " + pid + ", " + link.role.label() + ") ready");
            while (!orphans.isEmpty()) {
                Flight f = orphans.poll();
                place(f, matchedBlocks(f));
            }
        }
    }

    /** A worker's process ended: its flights resume elsewhere (or wait for a worker), its cache is gone. */
    void workerDied(int worker) {
        WorkerLink link = links[worker];
        synchronized (placement) {
            link.alive = false;
            link.assigned.set(0);
            for (Flight f : flights.on(worker)) {
                if (f.aborted()) {
                    flights.end(f, FinishReason.ABORT);
                } else {
                    metrics.resumed.increment();
                    place(f, new int[links.length]);
                }
            }
        }
        metrics.restarts.increment();
        index.forget(worker);
    }

    /**
     * A prefill worker has a flight's first token and its prompt's KV in {@code source}: the flight moves to a
     * decode worker, which copies the KV. When the flight ended or moved meanwhile, the source frees it.
     */
    void handedOff(WorkerLink from, long key, KvSource source) {
        Flight flight = flights.byKey(key);
        synchronized (placement) {
            if (flight == null || flight.aborted() || flight.worker() != from.id) {
                MessageCodec.writeRelease(from.requests, key, flight == null ? "" : flight.request.requestId());
                return;
            }
            int target = chooseDecode(from.id, flight.request.promptLength() + 1);
            if (target < 0) {
                target = from.id; // nobody else is alive: the prefill worker decodes from its own blocks
            }
            int[] emitted = flight.assign(target);
            if (emitted == null) {
                MessageCodec.writeRelease(from.requests, key, flight.request.requestId());
                return;
            }
            from.assigned.decrementAndGet();
            links[target].assigned.incrementAndGet();
            MessageCodec.writeSubmitWithKv(links[target].requests, key, flight.request, emitted, source);
        }
    }

    /** A decode worker copied a handed-off prompt's KV (or gave up and recomputes): its source may free it. */
    void kvReceived(long key, int sourceWorker, long sourcePid, String requestId, long bytes, long nanos) {
        if (bytes >= 0) {
            metrics.kvTransferred(bytes, nanos);
        }
        WorkerLink source = sourceWorker >= 0 && sourceWorker < links.length ? links[sourceWorker] : null;
        if (source != null && source.lastBeat.pid() == sourcePid) {
            MessageCodec.writeRelease(source.requests, key, requestId);
        }
    }

    /** Puts a flight on the best live worker, or among the orphans when none is alive. Holds {@code placement}. */
    private void place(Flight flight, int[] matched) {
        boolean fresh = flight.emittedCount() == 0;
        int target = fresh ? choosePrefill(flight, matched) : chooseResume(matched, flight);
        if (target < 0) {
            flight.assign(Flight.UNASSIGNED);
            orphans.add(flight);
            return;
        }
        // only a prefill worker hands off, and only while someone can take the decode
        boolean handOff = fresh && links[target].role == WorkerRole.PREFILL && anyLive(l -> l.id != target && l.role.decodes());
        int[] emitted = flight.assign(target);
        if (emitted == null) {
            return;
        }
        WorkerLink link = links[target];
        link.assigned.incrementAndGet();
        if (handOff) {
            MessageCodec.writePrefill(link.requests, flight.key, flight.request);
        } else {
            MessageCodec.writeSubmit(link.requests, flight.key, flight.request, emitted);
        }
    }

    /** Where a new prompt is computed: a live worker whose role prefills, else any live one; -1 when none. */
    private int choosePrefill(Flight flight, int[] matched) {
        List<WorkerLink> live = live(l -> l.role.prefills());
        if (live.isEmpty()) {
            live = live(l -> true);
        }
        if (policy != null && !live.isEmpty()) {
            return policy.choosePrefill(live, flight.request.promptLength());
        }
        return byPrefixAndLoad(live, matched, flight);
    }

    /** Where a request resumes after its worker died: a live worker whose role decodes, else any live one. */
    private int chooseResume(int[] matched, Flight flight) {
        List<WorkerLink> live = live(l -> l.role.decodes());
        if (live.isEmpty()) {
            live = live(l -> true);
        }
        return byPrefixAndLoad(live, matched, flight);
    }

    /** Where a handed-off request decodes: a live worker whose role decodes, other than its source; -1 when none. */
    private int chooseDecode(int source, int contextTokens) {
        List<WorkerLink> live = live(l -> l.role.decodes() && l.id != source);
        if (live.isEmpty()) {
            return -1;
        }
        if (policy != null) {
            return policy.chooseDecode(live, contextTokens);
        }
        return byPrefixAndLoad(live, new int[links.length], null);
    }

    private int byPrefixAndLoad(List<WorkerLink> live, int[] matched, Flight flight) {
        if (live.isEmpty()) {
            return -1;
        }
        List<PrefixAwareRouting.Candidate> candidates = new ArrayList<>(live.size());
        for (WorkerLink l : live) {
            candidates.add(new PrefixAwareRouting.Candidate(l.id, matched[l.id], l.lastBeat.kvUsage(), l.assigned.get()));
        }
        int promptBlocks = flight == null ? 0 : (flight.request.promptLength() - 1) / blockSize;
        PrefixAwareRouting.Route route = PrefixAwareRouting.choose(candidates, promptBlocks, maxNumSeqs);
        metrics.routed(route.worker(), route.prefix());
        return route.worker();
    }

    private List<WorkerLink> live(Predicate<WorkerLink> which) {
        List<WorkerLink> out = new ArrayList<>(links.length);
        for (WorkerLink l : links) {
            if (l.alive && which.test(l)) {
                out.add(l);
            }
        }
        return out;
    }

    private boolean anyLive(Predicate<WorkerLink> which) {
        for (WorkerLink l : links) {
            if (l.alive && which.test(l)) {
                return true;
            }
        }
        return false;
    }

    private int[] matchedBlocks(Flight flight) {
        return index.matchedBlocks(flight.request.promptIds(), blockSize, links.length);
    }
}
