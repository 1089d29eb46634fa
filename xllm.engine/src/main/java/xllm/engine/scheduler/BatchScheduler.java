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
 *
 * <p>Offline sequences run only in the slack that online ones leave: online sequences are scheduled first,
 * running then waiting; an offline prompt (or recompute) chunk runs only while no online prompt is pending,
 * so that it never delays an online first token; and while any online work is present, the step's tokens
 * (online ones and offline decodes and prompt chunks alike) stay within {@link #offlineMaxBatch}, where an
 * extra token costs almost nothing. Offline sequences are preempted before any online one, and an online
 * sequence waiting for memory or a seat preempts them. Without online work they run under the plain limits.
 */
final class BatchScheduler {
    /** Tokens of a step without online work: enough to keep a prompt's matrix products efficient. */
    static final int OFFLINE_STEP_TOKENS = 256;

    private final SchedulerConfig config;
    private final KvMemory kv;
    private final RequestMetrics metrics;
    private final DecodeRoofline roofline;
    private final PriorityQueue<Sequence> waiting = new PriorityQueue<>(Sequence::compare);
    private final List<Sequence> running = new ArrayList<>();
    private final List<Sequence> scheduled = new ArrayList<>();
    /** The running sequences of one tier, taken before any of them can be preempted. */
    private final List<Sequence> tier = new ArrayList<>();
    private final StepBatch.Builder step = new StepBatch.Builder();
    // the step being built
    private int budget;
    private int decodes;
    private boolean preempted;
    private boolean preemptedOnline;

    BatchScheduler(SchedulerConfig config, KvMemory kv, RequestMetrics metrics) {
        this.config = config;
        this.kv = kv;
        this.metrics = metrics;
        this.roofline = new DecodeRoofline(config.maxNumSeqs());
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

    /** The decode batch up to which offline sequences join while online work runs. */
    int offlineMaxBatch() {
        int fixed = config.offlineMaxBatch();
        return fixed == SchedulerConfig.OFFLINE_MAX_BATCH_AUTO ? roofline.limit() : fixed;
    }

    /** The runner executed {@code batch} in {@code nanos}; steps that only decode tell where the roofline bends. */
    void executed(StepBatch batch, long nanos) {
        if (batch.numTokens() == batch.numEntries() && batch.numSampled() == batch.numEntries()) {
            roofline.decodeStepTook(batch.numEntries(), nanos);
        }
    }

    /** Decides the next step; its batch is empty when there is nothing to run. */
    StepBatch schedule() {
        step.clear();
        scheduled.clear();
        budget = config.maxNumBatchedTokens();
        decodes = 0;
        preempted = false;
        preemptedOnline = false;
        boolean onlinePrompt = !waiting.isEmpty() && !waiting.peek().offline();
        boolean online = onlinePrompt;
        for (int i = 0; i < running.size(); i++) {
            Sequence seq = running.get(i);
            online |= !seq.offline();
            onlinePrompt |= !seq.offline() && seq.prefilling();
        }
        scheduleRunning(false, false, Integer.MAX_VALUE);
        admitWaiting(false, Integer.MAX_VALUE);
        int batchLimit = online ? offlineMaxBatch() : Integer.MAX_VALUE;
        if (online) {
            // beside online work a step grows only while it is memory-bound: every offline token, decode or
            // prompt, takes one of the batch's free places, so offline prompts cannot stretch an online step
            budget = Math.min(budget, Math.max(0, batchLimit - (config.maxNumBatchedTokens() - budget)));
        } else {
            // alone, offline prompts still go in chunks short enough that an online request arriving now waits
            // for one short step, not for a full token budget of offline prompts
            budget = Math.min(budget, OFFLINE_STEP_TOKENS);
        }
        scheduleRunning(true, onlinePrompt, batchLimit);
        if (!onlinePrompt) {
            admitWaiting(true, batchLimit);
        }
        return step.batch();
    }

    /**
     * Gives the running sequences of one tier their next tokens, in order, while the budget lasts.
     *
     * @param holdPrompts leave their prompt chunks for a later step
     * @param maxDecodes decode only while the step decodes at most this many sequences
     */
    private void scheduleRunning(boolean offline, boolean holdPrompts, int maxDecodes) {
        tier.clear();
        for (int i = 0; i < running.size(); i++) {
            if (running.get(i).offline() == offline) {
                tier.add(running.get(i));
            }
        }
        for (int i = 0; i < tier.size() && budget > 0; i++) {
            Sequence seq = tier.get(i);
            boolean prompt = seq.prefilling();
            if (seq.status != SequenceStatus.RUNNING || (prompt ? holdPrompts : decodes >= maxDecodes)) {
                seq.clearDrafts(); // preempted for an earlier one, or held back
                continue;
            }
            if (seq.draftCount > 0) {
                // drafts are what a short budget cuts first, and they never preempt: without room they go
                seq.draftCount = Math.max(0, Math.min(seq.draftCount, budget - seq.pending()));
                if (!kv.reserve(seq, seq.computed + seq.pending() + seq.draftCount)) {
                    seq.clearDrafts();
                }
            }
            int n = Math.min(seq.pending() + seq.draftCount, budget);
            if (makeRoom(seq, seq.computed + n)) {
                budget -= add(seq, n);
                decodes += prompt ? 0 : 1;
            }
        }
    }

    /**
     * Admits waiting sequences of one tier in priority order while the budget, the seats and the memory last.
     * A step that had to preempt admits nobody new (memory is short), except that online sequences still take
     * the place of offline ones.
     *
     * @param maxRunning admit only while fewer than this many sequences run
     */
    private void admitWaiting(boolean offline, int maxRunning) {
        while (budget > 0 && !waiting.isEmpty() && waiting.peek().offline() == offline
                && !(offline ? preempted : preemptedOnline) && running.size() < maxRunning) {
            Sequence seq = waiting.peek();
            if (running.size() >= config.maxNumSeqs() && !preemptOfflineFor(seq)) {
                return;
            }
            if (seq.table.size() == 0) {
                admitCachedPrefix(seq);
            }
            int n = Math.min(seq.pending(), budget);
            while (!kv.reserve(seq, seq.computed + n)) {
                if (!preemptOfflineFor(seq)) {
                    // wait for memory without pinning the cached prefix; admission guarantees it fits alone
                    kv.release(seq);
                    return;
                }
            }
            waiting.poll();
            seq.status = SequenceStatus.RUNNING;
            running.add(seq);
            budget -= add(seq, n);
        }
    }

    /** Preempts an offline sequence not in this step for the online {@code seq}; false when there is none. */
    private boolean preemptOfflineFor(Sequence seq) {
        if (seq.offline()) {
            return false;
        }
        Sequence victim = victim(seq);
        if (!victim.offline()) {
            return false; // online sequences wait for each other, as without offline work
        }
        preempt(victim);
        return true;
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

    /** The running sequence to preempt: offline first, then lowest priority, newest arrival, not already in this step. */
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
        preempted = true;
        preemptedOnline |= !seq.offline();
        metrics.preempted();
        if (seq.offline()) {
            metrics.offlinePreempted();
        }
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
