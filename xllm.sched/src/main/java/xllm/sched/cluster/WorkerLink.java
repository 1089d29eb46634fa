package xllm.sched.cluster;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The router's end of one worker: its queues, and what its heartbeats and the router's own bookkeeping
 * say about it. Written by the worker's event thread, the watchdog and the supervisor, read by request
 * threads for routing; every field is volatile or atomic.
 */
final class WorkerLink implements AutoCloseable {
    final int id;
    final SharedQueue requests;
    final SharedQueue events;
    /** Requests the router has placed here and not seen end: fresher than a heartbeat's count. */
    final AtomicInteger assigned = new AtomicInteger();
    volatile boolean alive;
    volatile Heartbeat lastBeat = Heartbeat.NONE;
    volatile long lastBeatNanos;

    WorkerLink(int id, ShmLayout layout) {
        this.id = id;
        this.requests = SharedQueue.open(layout.requests(id));
        this.events = SharedQueue.open(layout.events(id));
    }

    @Override
    public void close() {
        requests.close();
        events.close();
    }
}
