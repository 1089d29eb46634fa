package xllm.engine.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of compute threads, sized to the cores, that split one parallel loop at a time. Workers
 * spin briefly after each loop (the next kernel usually follows within microseconds), then park; the
 * calling thread takes part as worker 0. One caller at a time: the engine loop that owns the model.
 */
public final class ComputePool implements AutoCloseable {
    /** The body of a parallel loop: handles indices {@code [start, end)} on worker {@code worker}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end, int worker);
    }

    private static final int SPIN_ITERATIONS = 20_000;

    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private volatile RangeTask task;
    private volatile int size;
    private volatile int grain;
    private volatile Throwable failure;

    public ComputePool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("compute threads must be at least 1, got " + threads);
        }
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int worker = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("xllm-compute-" + worker).start(() -> workLoop(worker));
        }
    }

    /** A pool with one thread per available core. */
    public static ComputePool forAvailableCores() {
        return new ComputePool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task} over {@code [0, n)} split into one contiguous range per thread, each range a
     * multiple of {@code grain} (except the last), and returns when every range is done.
     */
    public void parallelFor(int n, int grain, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int threads = threads();
        if (threads == 1 || n <= grain) {
            task.run(0, n, 0);
            return;
        }
        this.task = task;
        this.size = n;
        this.grain = grain;
        this.failure = null;
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runShare(0);
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins > SPIN_ITERATIONS) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        this.task = null;
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException("compute task failed: " + f, f);
        }
    }

    private void runShare(int worker) {
        int n = size;
        int g = grain;
        int chunks = (n + g - 1) / g;
        int threads = threads();
        int startChunk = (int) ((long) chunks * worker / threads);
        int endChunk = (int) ((long) chunks * (worker + 1) / threads);
        int start = Math.min(n, startChunk * g);
        int end = Math.min(n, endChunk * g);
        if (start < end) {
            task.run(start, end, worker);
        }
    }

    private void workLoop(int worker) {
        long seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_ITERATIONS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 1_000_000L);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                runShare(worker);
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
