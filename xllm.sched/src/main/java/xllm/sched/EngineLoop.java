package xllm.sched;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.YieldingWaitStrategy;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;
import xllm.api.GenerateRequest;
import xllm.api.TokenSink;
import xllm.engine.scheduler.EngineCore;
import xllm.engine.scheduler.KvHandoff;
import xllm.engine.scheduler.KvImport;

/**
 * The thread of one engine instance. Request threads publish submissions and aborts on a
 * multi-producer Disruptor ring; the loop drains it, runs a step, and repeats, parking briefly when idle.
 * {@link #submit} and {@link #abort} may be called from any thread; the rest runs on the loop thread.
 */
final class EngineLoop implements AutoCloseable {
    private static final int RING_SIZE = 4096;
    private static final long IDLE_PARK_NANOS = 2_000_000L;

    private final EngineCore core;
    private final RingBuffer<IngressEvent> ring;
    private final EventPoller<IngressEvent> poller;
    private final EventPoller.Handler<IngressEvent> drain;
    private final Thread thread;
    private volatile boolean closed;
    private volatile int running;
    private volatile int waiting;
    private volatile double kvUsage;
    private volatile int freeBlocks;
    private final long idleReleaseNanos;

    EngineLoop(String name, EngineCore core) {
        this(name, core, 0);
    }

    /** @param idleReleaseMillis after this long without work the engine gives free memory back ({@link EngineCore#releaseIdleMemory}); 0 never */
    EngineLoop(String name, EngineCore core, long idleReleaseMillis) {
        this.core = core;
        this.idleReleaseNanos = idleReleaseMillis * 1_000_000L;
        this.ring = RingBuffer.createMultiProducer(IngressEvent::new, RING_SIZE, new YieldingWaitStrategy());
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
        this.drain = (event, sequence, endOfBatch) -> {
            if (event.request != null && event.handoff != null) {
                core.submitPrefill(event.request, event.sink, event.arrivalNanos, event.handoff);
            } else if (event.request != null && event.kvImport != null) {
                core.submitWithKv(event.request, event.emitted, event.sink, event.arrivalNanos, event.kvImport);
            } else if (event.request != null) {
                core.submit(event.request, event.emitted, event.sink, event.arrivalNanos);
            } else if (event.abortId != null) {
                core.abort(event.abortId);
            } else if (event.releaseId != null) {
                core.releaseHandoff(event.releaseId);
            } else if (event.warmedUp != null) {
                core.warmedUp();
                event.warmedUp.countDown();
            }
            event.clear();
            return true;
        };
        this.freeBlocks = core.freeBlocks();
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /**
     * Publishes a submission, resuming after {@code emitted} output tokens; prefill-only when {@code handoff} is
     * set, with its prompt's KV copied in when {@code kvImport} is (either may be null); false when the ring is full.
     */
    boolean submit(GenerateRequest request, int[] emitted, TokenSink sink, KvHandoff handoff, KvImport kvImport) {
        long arrival = System.nanoTime();
        boolean published = ring.tryPublishEvent((event, seq) -> {
            event.request = request;
            event.sink = sink;
            event.emitted = emitted;
            event.arrivalNanos = arrival;
            event.handoff = handoff;
            event.kvImport = kvImport;
        });
        LockSupport.unpark(thread);
        return published;
    }

    void abort(String requestId) {
        ring.publishEvent((event, seq) -> event.abortId = requestId);
        LockSupport.unpark(thread);
    }

    /** Frees the blocks that request {@code requestId} handed off. */
    void releaseHandoff(String requestId) {
        ring.publishEvent((event, seq) -> event.releaseId = requestId);
        LockSupport.unpark(thread);
    }

    /**
     * Tells the engine, on its thread, that its warm-up is over, and returns once it has dropped what the
     * warm-up left (so that none of it reaches a listener that goes live next).
     */
    void warmedUp() throws InterruptedException {
        CountDownLatch taken = new CountDownLatch(1);
        ring.publishEvent((event, seq) -> event.warmedUp = taken);
        LockSupport.unpark(thread);
        taken.await();
    }

    int running() {
        return running;
    }

    int waiting() {
        return waiting;
    }

    double kvUsage() {
        return kvUsage;
    }

    int freeBlocks() {
        return freeBlocks;
    }

    private void run() {
        while (!closed) {
            boolean polled;
            try {
                polled = poller.poll(drain) == EventPoller.PollState.PROCESSING;
            } catch (Exception e) {
                throw new IllegalStateException("ingress ring failed", e);
            }
            boolean worked;
            try {
                worked = core.step();
            } catch (RuntimeException e) {
                System.err.println("xllm: engine step failed, aborting its requests: " + e);
                core.abortAll();
                worked = false;
            }
            running = core.numRunning();
            waiting = core.numWaiting();
            kvUsage = core.kvUsage();
            freeBlocks = core.freeBlocks();
            if (worked || polled) {
                lastWorkNanos = System.nanoTime();
                idleReleased = false;
            } else {
                releaseWhenIdleLongEnough();
                LockSupport.parkNanos(this, IDLE_PARK_NANOS);
            }
        }
        core.abortAll();
    }

    private long lastWorkNanos = System.nanoTime();
    private boolean idleReleased;

    private void releaseWhenIdleLongEnough() {
        if (idleReleaseNanos > 0 && !idleReleased && core.numRunning() == 0 && core.numWaiting() == 0
                && System.nanoTime() - lastWorkNanos >= idleReleaseNanos) {
            core.releaseIdleMemory();
            idleReleased = true;
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
