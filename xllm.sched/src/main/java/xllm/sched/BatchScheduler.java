package xllm.sched;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import xllm.engine.model.StepBatch;
import xllm.kv.BlockAllocator;
import xllm.kv.BlockHashes;

/**
 * Continuous batching for one engine instance. Each step spends a token budget: running sequences first
 * (one decode token each, or the next chunk of a long prompt), then waiting ones in priority order,
 * reusing cached prefix blocks. When KV blocks run out, the lowest-priority, newest running sequence is
 * preempted: its blocks are released and it waits to be recomputed from its prompt and output so far, so
 * its output does not change. Owned by the engine loop thread.
 */
final class BatchScheduler {
    private final SchedulerConfig config;
    private final BlockAllocator allocator;
    private final int blockSize;
    private final ServiceMetrics metrics;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(Sequence::compare);
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    private final StepBatch batch = new StepBatch();

    BatchScheduler(SchedulerConfig config, BlockAllocator allocator, ServiceMetrics metrics) {
        this.config = config;
        this.allocator = allocator;
        this.blockSize = allocator.blockSize();
        this.metrics = metrics;
    }

    void add(Sequence seq) {
        waiting.add(seq);
    }

    boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    int numRunning() {
        return running.size();
    }

    int numWaiting() {
        return waiting.size();
    }

    /** The sequences of the batch built by the last {@link #schedule}, in batch order. */
    List<Sequence> scheduled() {
        return scheduled;
    }

    StepBatch batch() {
        return batch;
    }

    /** Builds the next step's batch; empty when there is nothing to run. */
    StepBatch schedule() {
        batch.clear();
        scheduled.clear();
        int budget = config.maxNumBatchedTokens();
        boolean preempted = false;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence seq = running.get(i);
            int n = Math.min(seq.pending(), budget);
            while (!seq.table.ensureCapacity(seq.computed + n, blockSize, allocator)) {
                Sequence victim = victim(seq);
                preempt(victim);
                preempted = true;
                if (victim == seq) {
                    break;
                }
            }
            if (!running.contains(seq)) {
                i--; // the list shifted under the preempted sequence
                continue;
            }
            budget -= add(seq, n);
        }
        // a step that had to preempt admits nobody new: memory is short
        while (!preempted && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
            Sequence seq = waiting.peek();
            if (seq.table.size() == 0) {
                reuseCachedPrefix(seq);
            }
            int n = Math.min(seq.pending(), budget);
            if (!seq.table.ensureCapacity(seq.computed + n, blockSize, allocator)) {
                // wait for memory without pinning the cached prefix; admission guarantees it fits alone
                releaseBlocks(seq);
                seq.computed = 0;
                break;
            }
            waiting.poll();
            running.add(seq);
            budget -= add(seq, n);
        }
        return batch;
    }

    private int add(Sequence seq, int n) {
        if (seq.firstScheduledNanos == 0) {
            seq.firstScheduledNanos = System.nanoTime();
        }
        seq.scheduled = n;
        seq.batchIndex = batch.add(seq.table, seq.tokens, seq.computed, n, seq.computed, seq.computed + n == seq.length);
        scheduled.add(seq);
        return n;
    }

    /** The running sequence to preempt: lowest priority, newest arrival, not already in this step's batch. */
    private Sequence victim(Sequence needing) {
        Sequence victim = needing;
        for (Sequence s : running) {
            if (!scheduled.contains(s) && Sequence.compare(s, victim) > 0) {
                victim = s;
            }
        }
        return victim;
    }

    private void preempt(Sequence seq) {
        running.remove(seq);
        releaseBlocks(seq);
        seq.computed = 0;
        waiting.add(seq);
        metrics.preemptions.increment();
    }

    private void reuseCachedPrefix(Sequence seq) {
        int cached = 0;
        if (config.prefixCaching()) {
            // at least one token must be computed to produce logits
            int fullBlocks = (seq.length - 1) / blockSize;
            long key = BlockHashes.ROOT;
            for (int i = 0; i < fullBlocks; i++) {
                long next = BlockHashes.chain(key, seq.tokens, i * blockSize, blockSize);
                int block = allocator.acquireCached(next, seq.tokens, i * blockSize);
                if (block < 0) {
                    break;
                }
                seq.table.append(block);
                key = next;
                seq.keyedBlocks = i + 1;
                seq.lastKey = key;
                cached += blockSize;
            }
            if (!seq.admitted) {
                metrics.prefixCacheQueries.add(seq.length);
                metrics.prefixCacheHits.add(cached);
                seq.cachedPromptTokens = cached;
            }
        }
        seq.admitted = true;
        seq.computed = cached;
    }

    /** After a step: advances the scheduled sequences and registers their newly full blocks. */
    void completeStep() {
        for (Sequence seq : scheduled) {
            seq.computed += seq.scheduled;
            seq.scheduled = 0;
            if (config.prefixCaching()) {
                int full = seq.computed / blockSize;
                for (int i = seq.keyedBlocks; i < full; i++) {
                    long key = BlockHashes.chain(seq.lastKey, seq.tokens, i * blockSize, blockSize);
                    allocator.register(seq.table.blockAt(i), key, seq.tokens, i * blockSize);
                    seq.lastKey = key;
                    seq.keyedBlocks = i + 1;
                }
            }
        }
    }

    /** Removes a finished or aborted sequence and frees its blocks. */
    void remove(Sequence seq) {
        if (!running.remove(seq)) {
            waiting.remove(seq);
        }
        releaseBlocks(seq);
    }

    private void releaseBlocks(Sequence seq) {
        seq.table.releaseAll(allocator);
        seq.keyedBlocks = 0;
        seq.lastKey = BlockHashes.ROOT;
    }

    /** Every sequence still held, for shutdown. */
    List<Sequence> all() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        return all;
    }
}
