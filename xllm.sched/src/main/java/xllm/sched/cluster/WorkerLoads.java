package xllm.sched.cluster;

import java.util.ArrayList;
import java.util.List;

/**
 * What the router knows of each worker's work right now, for the SLO policy: from its own flights (prompts
 * not yet through prefill, sequences decoding and their contexts), each worker's latency predictor, and how
 * long it has been idle. Thread-safe: a snapshot is built from the flights under their own locks.
 */
final class WorkerLoads {
    private final WorkerLink[] links;
    private final JournaledFlights flights;
    /** When each worker last had work, in System.nanoTime(). */
    private final long[] busyAt;

    WorkerLoads(WorkerLink[] links, JournaledFlights flights) {
        this.links = links;
        this.flights = flights;
        this.busyAt = new long[links.length];
        long now = System.nanoTime();
        java.util.Arrays.fill(busyAt, now);
    }

    /** Every worker as the policy sees it now, by id; {@code only} (null for all) limits it to those links. */
    List<RolePolicy.Worker> snapshot(List<WorkerLink> only) {
        int n = links.length;
        int[] waitingPrefill = new int[n];
        int[] decoding = new int[n];
        long[] context = new long[n];
        for (Flight f : flights.all()) {
            int w = f.worker();
            if (w < 0 || w >= n) {
                continue;
            }
            int emitted = f.emittedCount();
            if (emitted == 0) {
                waitingPrefill[w] += f.request.promptLength();
            } else {
                decoding[w]++;
                context[w] += f.request.promptLength() + emitted;
            }
        }
        long now = System.nanoTime();
        List<RolePolicy.Worker> out = new ArrayList<>(n);
        for (WorkerLink l : only == null ? List.of(links) : only) {
            int w = l.id;
            boolean busy = waitingPrefill[w] > 0 || decoding[w] > 0 || l.lastBeat.load() > 0;
            long idleMillis;
            synchronized (busyAt) {
                if (busy) {
                    busyAt[w] = now;
                }
                idleMillis = busy ? 0 : (now - busyAt[w]) / 1_000_000;
            }
            out.add(new RolePolicy.Worker(w, l.role, l.alive, decoding[w], context[w], waitingPrefill[w], idleMillis, l.predictor));
        }
        return out;
    }
}
