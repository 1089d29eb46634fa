package xllm.engine.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of compute threads, sized to the cores, that split one parallel loop at a time. The loop's
 * range is cut into chunks that every participant claims from a shared counter, the calling thread
 * included: when a worker is slow to wake (a busy machine, other processes on the same cores), the
 * others take its chunks instead of waiting for it. Workers spin briefly after each loop (the next
 * kernel usually follows within microseconds), then park. One caller at a time: the engine loop that
 * owns the model.
 */
public final class ComputePool implements AutoCloseable {
    /** The body of a parallel loop: handles indices {@code [start, end)} on worker {@code worker}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end, int worker);
    }

    private static final int SPIN_ITERATIONS = Integer.getInteger("xllm.compute.spins", 20_000);
    /** Chunks per thread: enough for others to take over a late thread's share, few enough to stay cheap. */
    private static final int CHUNKS_PER_THREAD = 1;

    private final Thread[] workers;
    /**
     * The loop's generation (high 32 bits), chunk count (16 bits) and next unclaimed chunk (low 16 bits) in
     * one word: a claim succeeds only while its own loop has chunks left, so a thread late from an earlier
     * loop can never claim, or misread the parameters of, the next one.
     */
    private final AtomicLong claims = new AtomicLong();
    private final AtomicInteger doneChunks = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private volatile RangeTask task;
    private volatile int size;
    private volatile int chunkSize;
    private volatile int chunks;
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
     * Runs {@code task} over {@code [0, n)} in contiguous chunks, each a multiple of {@code grain} long
     * (except the last), and returns when every chunk is done.
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
        int grains = (n + grain - 1) / grain;
        int chunkCount = Math.min(grains, Math.min(threads * CHUNKS_PER_THREAD, 0xFFFF));
        this.task = task;
        this.size = n;
        this.chunkSize = (grains + chunkCount - 1) / chunkCount * grain;
        this.chunks = (n + chunkSize - 1) / chunkSize;
        this.failure = null;
        doneChunks.set(0);
        long gen = generation + 1;
        claims.set(gen << 32 | (long) chunks << 16);
        generation = gen;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        runChunks(0, gen);
        int spins = 0;
        while (doneChunks.get() != chunks) {
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

    /** Claims and runs chunks of loop {@code gen} until none is left. */
    private void runChunks(int worker, long gen) {
        RangeTask t = task;
        int length = chunkSize;
        int n = size;
        while (true) {
            long claim = claims.get();
            int c = (int) (claim & 0xFFFF);
            int total = (int) ((claim >>> 16) & 0xFFFF);
            if (claim >>> 32 != gen || c >= total) {
                return;
            }
            if (!claims.compareAndSet(claim, claim + 1)) {
                continue;
            }
            try {
                int start = c * length;
                t.run(start, Math.min(n, start + length), worker);
            } catch (Throwable e) {
                failure = e;
            } finally {
                doneChunks.incrementAndGet();
            }
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
            runChunks(worker, seen);
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
