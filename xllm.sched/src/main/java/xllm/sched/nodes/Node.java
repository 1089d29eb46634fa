package xllm.sched.nodes;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One node as a router knows it: what its registration and load keys last said, and what the router's own
 * probes and streams saw. Routable while registered under a live lease and answering. Fields are written
 * by the directory's threads and read by request threads.
 */
final class Node {
    final String name;
    /** Its bit in the cache index, stable for the router's lifetime. */
    final int slot;
    volatile String url;
    volatile String role = "mixed";
    volatile String incarnation;
    volatile String model;
    volatile int blockSize;
    volatile int capacity = 64;
    volatile int load;
    volatile double kvUsage;
    volatile boolean registered;
    /** Answering its health probe; false after a failed probe or a broken stream until a probe succeeds. */
    volatile boolean answering;
    /** When its probes began to fail (System.nanoTime), or 0 while they succeed. */
    volatile long failingSinceNanos;
    /** Requests this router has on it now. */
    final AtomicInteger assigned = new AtomicInteger();

    Node(String name, int slot) {
        this.name = name;
        this.slot = slot;
    }

    /** Its load as routing weighs it: what it published, or what this router has on it when that is more (it publishes once a second). */
    int loadSeen() {
        return Math.max(load, assigned.get());
    }

    boolean alive() {
        return registered && answering && url != null;
    }
}
