package xllm.engine.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import xllm.engine.model.StepBatch;

/**
 * Continuous batching for one engine instance: decides each step and owns the KV memory it spends. Each
 * step spends a token budget: running sequences first (one decode token each and the drafts it verifies, or
 * the next chunk of a long prompt), then waiting ones in priority order, reusing cached prefix blocks. Drafts
 * are optional: they are the first thing cut when the budget or the memory runs short, never a reason to
 * preempt. When KV blocks run out, the
 * lowest-priority, newest running sequence not yet in the step is preempted: its blocks are released and it
 * waits to be recomputed from its prompt and output so far, so its output does not change. Owned by the
 * engine loop thread.
 */
final class BatchScheduler {
    private final SchedulerConfig config;
    private final KvMemory kv;
    private final RequestMetrics metrics;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(Sequence::compare);
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    private final StepBatch.Builder step = new StepBatch.Builder();
    private boolean preemptedThisStep;

    BatchScheduler(SchedulerConfig config, KvMemory kv, RequestMetrics metrics) {
        this.config = config;
        this.kv = kv;
        this.metrics = metrics;
    }

    void add(Sequence seq) {
        seq.status = SequenceStatus.WAITING;
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

    /** The sequences of the step built by the last {@link #schedule}, in entry order. */
    List<Sequence> scheduled() {
        return scheduled;
    }

    /** Decides the next step; its batch is empty when there is nothing to run. */
    StepBatch schedule() {
        step.clear();
        scheduled.clear();
        preemptedThisStep = false;
        int budget = config.maxNumBatchedTokens();
        int i = 0;
        while (i < running.size() && budget > 0) {
            Sequence seq = running.get(i);
            if (seq.draftCount > 0) {
                // drafts are what a short budget cuts first, and they never preempt: without room they go
                seq.draftCount = Math.max(0, Math.min(seq.draftCount, budget - seq.pending()));
                if (!kv.reserve(seq, seq.computed + seq.pending() + seq.draftCount)) {
                    seq.clearDrafts();
                }
            }
            int n = Math.min(seq.pending() + seq.draftCount, budget);
            if (!makeRoom(seq, seq.computed + n)) {
                continue; // seq itself was preempted: the next running sequence is now at index i
            }
            budget -= add(seq, n);
            i++;
        }
        // a step that had to preempt admits nobody new: memory is short
        while (!preemptedThisStep && budget > 0 && !waiting.isEmpty() && running.size() < config.maxNumSeqs()) {
            Sequence seq = waiting.peek();
            if (seq.table.size() == 0) {
                admitCachedPrefix(seq);
            }
            int n = Math.min(seq.pending(), budget);
            if (!kv.reserve(seq, seq.computed + n)) {
                // wait for memory without pinning the cached prefix; admission guarantees it fits alone
                kv.release(seq);
                break;
            }
            waiting.poll();
            seq.status = SequenceStatus.RUNNING;
            running.add(seq);
            budget -= add(seq, n);
        }
        return step.batch();
    }

    /** Reserves blocks for {@code seq}'s first {@code tokens} tokens, preempting others; false when {@code seq} itself had to go. */
    private boolean makeRoom(Sequence seq, int tokens) {
        while (!kv.reserve(seq, tokens)) {
            Sequence victim = victim(seq);
            preempt(victim);
            if (victim == seq) {
                return false;
            }
        }
        return true;
    }

    private int add(Sequence seq, int n) {
        if (seq.firstScheduledNanos == 0) {
            seq.firstScheduledNanos = System.nanoTime();
            metrics.scheduledFirst(seq.firstScheduledNanos - seq.arrivalNanos);
        }
        seq.scheduledTokens = n;
        // a step that reaches the last token samples after it and after each draft that follows it
        int sampled = seq.computed + n == seq.length + seq.draftCount ? seq.draftCount + 1 : 0;
        step.add(seq.id, seq.tokens, seq.computed, n, seq.computed, seq.table.blockIds(), seq.table.size(), sampled);
        scheduled.add(seq);
        return n;
    }

    /** The running sequence to preempt: lowest priority, newest arrival, not already in this step. */
    private Sequence victim(Sequence needing) {
        Sequence victim = needing;
        for (int i = 0; i < running.size(); i++) {
            Sequence s = running.get(i);
            if (s.scheduledTokens == 0 && Sequence.compare(s, victim) > 0) {
                victim = s;
            }
        }
        return victim;
    }

    private void preempt(Sequence seq) {
        running.remove(seq);
        seq.clearDrafts();
        kv.release(seq);
        add(seq);
        preemptedThisStep = true;
        metrics.preempted();
    }

    private void admitCachedPrefix(Sequence seq) {
        int cached = kv.reuseCachedPrefix(seq);
        if (!seq.prefixLookedUp && kv.prefixCaching()) {
            seq.prefixLookedUp = true;
            seq.cachedPromptTokens = cached;
        }
        seq.computed = cached;
    }

    /**
     * After the runner executed the step and its tokens were verified: {@code seq} now has KV for
     * {@code computedTokens} more tokens (its step's tokens but the rejected drafts). Frees the blocks that held
     * only rejected drafts and registers the newly full blocks, whose hashes cover accepted tokens only.
     */
    void complete(Sequence seq, int computedTokens) {
        seq.computed += computedTokens;
        seq.scheduledTokens = 0;
        if (seq.draftCount > 0) {
            kv.trim(seq, seq.length);
            seq.clearDrafts();
        }
        kv.registerFullBlocks(seq);
    }

    /** The sequences running now, in scheduling order. Read-only for callers. */
    List<Sequence> running() {
        return running;
    }

    /** Takes a running sequence out of scheduling and leaves its blocks held, for a handoff. */
    void detach(Sequence seq) {
        running.remove(seq);
        seq.status = SequenceStatus.FINISHED;
    }

    /** Takes a finished or aborted sequence out and frees its blocks. */
    void remove(Sequence seq) {
        if (seq.status == SequenceStatus.RUNNING) {
            running.remove(seq);
        } else if (seq.status == SequenceStatus.WAITING) {
            waiting.remove(seq);
        }
        kv.release(seq);
        seq.status = SequenceStatus.FINISHED;
    }

    /** Every sequence still held, for shutdown. */
    List<Sequence> all() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        return all;
    }
}
