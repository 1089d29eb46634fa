package xllm.sched.cluster;

import java.util.concurrent.atomic.AtomicInteger;
import xllm.sched.SpecDecodeCounts;

/**
 * The router's end of one worker: its queues, and what its heartbeats and the router's own bookkeeping
 * say about it. Written by the worker's event thread, the watchdog and the supervisor, read by request
 * threads for routing; every field another thread reads is volatile or atomic.
 */
final class WorkerLink implements AutoCloseable {
    final int id;
    /** The role it was started with, and the one it has now (the router may switch it to follow the load). */
    final WorkerRole startRole;
    volatile WorkerRole role;
    final SharedQueue requests;
    final SharedQueue events;
    /** Requests the router has placed here and not seen end: fresher than a heartbeat's count. */
    final AtomicInteger assigned = new AtomicInteger();
    volatile boolean alive;
    volatile Heartbeat lastBeat = Heartbeat.NONE;
    volatile long lastBeatNanos;
    /** Its prefill and decode latencies as its reported step times show them. */
    final TimePredictor predictor = new TimePredictor();
    /**
     * What this worker's processes have speculated, the last report of each earlier one included, so that
     * the router's counters do not go back when a worker restarts. One value, so a reader sees no half update.
     */
    volatile SpecDecodeCounts spec = SpecDecodeCounts.NONE;
    /** The same, of the processes before the current one; the event thread's own. */
    SpecDecodeCounts specOfEarlier = SpecDecodeCounts.NONE;

    WorkerLink(int id, WorkerRole role, ShmLayout layout) {
        this.id = id;
        this.startRole = role;
        this.role = role;
        this.requests = SharedQueue.open(layout.requests(id));
        this.events = SharedQueue.open(layout.events(id));
    }

    @Override
    public void close() {
        requests.close();
        events.close();
    }
}
