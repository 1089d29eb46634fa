package xllm.sched.cluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import xllm.api.FinishReason;

/**
 * Decides where each flight runs and moves flights as workers come and go: to the live worker that
 * scores best by cached prefix and load ({@link PrefixAwareRouting}), or among the orphans while no
 * worker is alive. Thread-safe: request threads route and abort, event threads bring in a worker that
 * answers, the supervisor's thread moves a dead worker's flights; every move holds one lock, so a
 * flight is never on two workers.
 */
final class FlightRouter {
    private final WorkerLink[] links;
    private final KvIndex index;
    private final JournaledFlights flights;
    private final ClusterMetrics metrics;
    private final int blockSize;
    private final int maxNumSeqs;
    private final ArrayDeque<Flight> orphans = new ArrayDeque<>();
    private final Object placement = new Object();

    /**
     * @param blockSize KV block size of every worker, for prefix keys
     * @param maxNumSeqs requests a worker runs at once, to weigh its load
     */
    FlightRouter(WorkerLink[] links, KvIndex index, JournaledFlights flights, ClusterMetrics metrics, int blockSize,
                 int maxNumSeqs) {
        this.links = links;
        this.index = index;
        this.flights = flights;
        this.metrics = metrics;
        this.blockSize = blockSize;
        this.maxNumSeqs = maxNumSeqs;
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
            System.err.println("xllm: worker " + link.id + " (pid " + pid + ") ready");
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

    /** Puts a flight on the best live worker, or among the orphans when none is alive. Holds {@code placement}. */
    private void place(Flight flight, int[] matched) {
        List<PrefixAwareRouting.Candidate> candidates = new ArrayList<>();
        for (WorkerLink l : links) {
            if (l.alive) {
                candidates.add(new PrefixAwareRouting.Candidate(l.id, matched[l.id], l.lastBeat.kvUsage(), l.assigned.get()));
            }
        }
        if (candidates.isEmpty()) {
            flight.assign(Flight.UNASSIGNED);
            orphans.add(flight);
            return;
        }
        int promptBlocks = (flight.request.promptLength() - 1) / blockSize;
        PrefixAwareRouting.Route route = PrefixAwareRouting.choose(candidates, promptBlocks, maxNumSeqs);
        int[] emitted = flight.assign(route.worker());
        if (emitted == null) {
            return;
        }
        metrics.routed(route.worker(), route.prefix());
        WorkerLink link = links[route.worker()];
        link.assigned.incrementAndGet();
        MessageCodec.writeSubmit(link.requests, flight.key, flight.request, emitted);
    }

    private int[] matchedBlocks(Flight flight) {
        return index.matchedBlocks(flight.request.promptIds(), blockSize, links.length);
    }
}
