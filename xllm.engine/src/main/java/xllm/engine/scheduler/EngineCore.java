package xllm.engine.scheduler;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.grammar.ConstraintCache;
import xllm.engine.grammar.GrammarException;
import xllm.engine.grammar.GrammarMatcher;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.model.StepBatch;
import xllm.engine.runner.ModelRunner;
import xllm.engine.runner.StepOutput;
import xllm.engine.sample.Sampler;
import xllm.engine.spec.DraftBatch;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculationPolicy;
import xllm.kv.BlockAllocator;
import xllm.kv.DiskBlockStore;

/**
 * One engine instance's step, the one every path runs (serving, workers, offline generation, benchmarks):
 * the scheduler decides a {@link StepBatch}, the runner executes it into a {@link StepOutput}, and here each
 * sampling sequence gets its token, its sink hears of it, and the stop rules end it. Owned by one thread,
 * which calls everything here.
 *
 * <p>With speculation, each step first asks the proposer for drafts for the decoding sequences; a sequence's
 * decode token and its drafts run as one query in the same batched pass as everyone else, and here the
 * drafts are verified in order against the target's own choice at each position (its sampled token, or
 * rejection sampling for drafts sampled from a draft distribution): every accepted draft and the token after
 * the last of them are emitted, and the KV of the rejected ones is rolled back.
 */
public final class EngineCore {
    /** How long handed-off blocks wait for their release before they are freed anyway. */
    public static final long HANDOFF_TIMEOUT_NANOS = 60_000_000_000L;

    private final ModelRunner runner;
    private final KvMemory kv;
    private final BatchScheduler scheduler;
    private final Sampler sampler;
    private final RequestMetrics metrics;
    private final int[] eosIds;
    private final int maxModelLength;
    private final Map<String, Sequence> live = new HashMap<>();
    private final Logprobs logprobs = new Logprobs();
    private final Speculation speculation;
    private final List<Sequence> drafting = new ArrayList<>();
    /** Prefill-only sequences whose blocks wait for a decode instance to copy them, oldest first. */
    private final Map<String, Sequence> handedOff = new HashMap<>();
    private final ArrayDeque<Sequence> handoffOrder = new ArrayDeque<>();
    private long arrivals;
    /** Compiled constraints over this model's vocabulary; null until {@link #enableStructuredOutputs}. */
    private ConstraintCache constraints;

    /**
     * @param eosIds tokens that end a sequence (unless it ignores them)
     * @param cacheListener told of every prefix block cached or evicted, on this thread; null for none
     */
    public EngineCore(ModelRunner runner, SchedulerConfig config, int[] eosIds, RequestMetrics metrics,
                      BlockAllocator.CacheListener cacheListener) {
        this(runner, config, eosIds, metrics, cacheListener, null);
    }

    /** @param speculation how to draft and verify several tokens a step; null to decode one token a step */
    public EngineCore(ModelRunner runner, SchedulerConfig config, int[] eosIds, RequestMetrics metrics,
                      BlockAllocator.CacheListener cacheListener, Speculation speculation) {
        this.runner = runner;
        this.speculation = speculation;
        this.metrics = metrics;
        this.kv = new KvMemory(runner.numBlocks(), runner.blockSize(), config.prefixCaching(), cacheListener);
        this.scheduler = new BatchScheduler(config, kv, metrics);
        this.sampler = new Sampler(runner.vocabSize());
        this.eosIds = eosIds.clone();
        this.maxModelLength = runner.model().config().maxPositions();
    }

    /**
     * Lets requests constrain their output ({@link GenerateRequest#structuredOutput()}): masks are computed over
     * {@code vocabulary}, the model's tokens as bytes. Without it such requests are refused with an abort.
     */
    public void enableStructuredOutputs(VocabularyTrie vocabulary) {
        this.constraints = new ConstraintCache(vocabulary);
    }

    /**
     * Adds the disk tier to the prefix cache: prompts look their prefixes up there after memory, and blocks
     * cached from now on are written there. Call before the engine loop starts.
     */
    public void offloadTo(DiskBlockStore store) {
        kv.offloadTo(store, runner.arena());
    }

    /** Prompt tokens whose KV was found cached in memory, over the engine's life. */
    public long memoryHitTokens() {
        return kv.memoryHitTokens();
    }

    /** Prompt tokens whose KV was loaded from the disk tier, over the engine's life. */
    public long diskHitTokens() {
        return kv.diskHitTokens();
    }

    /**
     * The engine's warm-up is over: what it measured while the JIT was compiling (the speculation policy's
     * costs) is forgotten, to be learned again from served steps, and what its made-up prompts left in the prefix
     * cache is dropped and its memory given back, so that a server starts with an empty cache and no KV resident.
     */
    public void warmedUp() {
        if (speculation != null) {
            speculation.policy().forgetCosts();
        }
        kv.evictUnused();
        releaseIdleMemory();
    }

    /**
     * Queues a request, resuming after {@code emitted} output tokens that another instance produced: its sink
     * hears of the tokens after those. A request id already live here is refused with an abort. A request this
     * instance handed off itself (its decode instance died before taking it) resumes on its own blocks.
     */
    public void submit(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos) {
        Sequence handed = handedOff.remove(request.requestId());
        Sequence seq = enqueue(request, emitted, sink, arrivalNanos);
        if (handed != null) {
            reclaim(handed, seq);
        }
        if (seq != null) {
            scheduler.add(seq);
        }
    }

    /**
     * Gives the blocks of {@code handed}, a request this instance handed off, to {@code seq}, the same request
     * back here: nothing is copied or recomputed. When {@code seq} was refused (null) the blocks are freed.
     */
    private void reclaim(Sequence handed, Sequence seq) {
        if (seq == null) {
            scheduler.remove(handed);
        } else {
            kv.transfer(handed, seq);
        }
    }

    /**
     * Queues a prefill-only request: it computes its prompt and samples its first token as any other, then,
     * unless that token ends it, hands its KV blocks to {@code handoff} instead of decoding on. The blocks stay
     * held until {@link #releaseHandoff} or {@link #HANDOFF_TIMEOUT_NANOS}; {@code sink} hears of no finish then.
     */
    public void submitPrefill(GenerateRequest request, TokenSink sink, long arrivalNanos, KvHandoff handoff) {
        Sequence seq = enqueue(request, new int[0], sink, arrivalNanos);
        if (seq != null) {
            seq.handoff = handoff;
            scheduler.add(seq);
        }
    }

    /**
     * Queues a request resumed after {@code emitted} output tokens whose prompt KV another instance computed:
     * the blocks are copied in now (those cached here already are not), so that it starts decoding at once. A
     * request this instance handed off itself resumes on its own blocks instead: the block table moves, nothing
     * is copied. When the import cannot be used the prompt is recomputed; {@code kvImport}'s listener hears which.
     */
    public void submitWithKv(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos, KvImport kvImport) {
        Sequence handed = handedOff.remove(request.requestId());
        Sequence seq = enqueue(request, emitted, sink, arrivalNanos);
        long start = System.nanoTime();
        if (handed != null) {
            reclaim(handed, seq);
        }
        if (seq == null) {
            kvImport.listener().imported(-1, 0, 0);
            return;
        }
        long bytes = handed != null ? 0 : kv.importPrompt(seq, kvImport, runner.arena());
        kvImport.listener().imported(bytes, System.nanoTime() - start, seq.cachedPromptTokens);
        scheduler.add(seq);
    }

    /** A new sequence registered as live, or null (its sink told) when the id is live here already. */
    private Sequence enqueue(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos) {
        if (live.containsKey(request.requestId()) || handedOff.containsKey(request.requestId())) {
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return null;
        }
        GrammarMatcher grammar = null;
        if (request.structuredOutput() != null) {
            grammar = matcherFor(request, emitted);
            if (grammar == null) {
                sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
                return null;
            }
        }
        int capacity = Math.min(maxModelLength, request.promptLength() + request.params().maxTokens());
        Sequence seq = new Sequence(arrivals++, request, emitted, sink, arrivalNanos, capacity);
        seq.grammar = grammar;
        live.put(request.requestId(), seq);
        return seq;
    }

    /**
     * A matcher for the request's constraint, moved past the output {@code emitted} elsewhere; null when this
     * engine cannot enforce it (the service checks constraints before they get here, so this is a last guard).
     */
    private GrammarMatcher matcherFor(GenerateRequest request, int[] emitted) {
        if (constraints == null) {
            return null;
        }
        GrammarMatcher grammar;
        try {
            grammar = constraints.matcher(request.structuredOutput());
        } catch (GrammarException e) {
            return null;
        }
        for (int token : emitted) {
            if (!grammar.accept(token)) {
                return null;
            }
        }
        return grammar;
    }

    /** Frees the blocks a prefill-only request handed off: the decode instance has copied them, or gave up. */
    public void releaseHandoff(String requestId) {
        Sequence seq = handedOff.remove(requestId);
        if (seq != null) {
            scheduler.remove(seq);
        }
    }

    public void abort(String requestId) {
        Sequence seq = live.get(requestId);
        if (seq != null) {
            finish(seq, FinishReason.ABORT);
        } else {
            releaseHandoff(requestId);
        }
    }

    public boolean hasWork() {
        return scheduler.hasWork();
    }

    /** Runs one step; false when there was nothing to run. */
    public boolean step() {
        expireHandoffs(System.nanoTime());
        if (speculation != null) {
            proposeDrafts();
        }
        StepBatch batch = scheduler.schedule();
        if (batch.numEntries() == 0) {
            return false;
        }
        long start = System.nanoTime();
        StepOutput output = runner.execute(batch);
        long executed = System.nanoTime() - start;
        reportStep(executed);
        scheduler.executed(batch, executed);
        if (speculation != null) {
            speculation.proposer().observe(batch, output);
        }
        float[] logits = output.logits();
        int vocab = output.vocabSize();
        long now = System.nanoTime();
        List<Sequence> scheduled = scheduler.scheduled();
        for (int entry = 0; entry < scheduled.size(); entry++) {
            Sequence seq = scheduled.get(entry);
            int offset = output.logitsOffset(entry);
            if (offset < 0) {
                scheduler.complete(seq, seq.scheduledTokens);
                continue;
            }
            int drafts = seq.draftCount;
            int accepted = 0;
            FinishReason reason = null;
            for (int i = 0; i <= drafts; i++) {
                int row = offset + i * vocab;
                // the sequence's tokens so far are followed by its drafts not yet decided on
                int draft = i < drafts ? seq.tokens[seq.length] : -1;
                if (seq.grammar != null && seq.grammar.stuck()) {
                    reason = FinishReason.STOP; // no token of the vocabulary continues the output
                    break;
                }
                int token = draft >= 0 && seq.draftProbabilities != null
                        ? sampler.verifySampledDraft(logits, row, seq.sampling, draft, seq.draftProbabilities, i * vocab)
                        : sampler.sample(logits, row, seq.sampling, seq.grammar == null ? null : seq.grammar.allowed());
                reason = emit(seq, token, logits, row, vocab, now);
                if (token == draft) {
                    accepted++;
                }
                if (token != draft || reason != null) {
                    break;
                }
            }
            scheduler.complete(seq, seq.scheduledTokens - drafts + accepted);
            if (drafts > 0) {
                metrics.speculated(drafts, accepted);
                seq.draftAcceptance = SpeculationPolicy.updated(seq.draftAcceptance, drafts, accepted);
            }
            if (reason != null) {
                finish(seq, reason);
            } else if (seq.handoff != null) {
                handOff(seq, now);
            }
        }
        if (speculation != null) {
            // a decode step computes logits for every token it runs; a prefill chunk does not
            speculation.policy().stepTook(batch.numTokens(), executed, batch.numSampled() == batch.numTokens());
        }
        return true;
    }

    /** Tells the metrics what the step just run held: prompt tokens, and decoding sequences with their contexts. */
    private void reportStep(long nanos) {
        List<Sequence> scheduled = scheduler.scheduled();
        int prefill = 0;
        int decodes = 0;
        long context = 0;
        for (int i = 0; i < scheduled.size(); i++) {
            Sequence seq = scheduled.get(i);
            if (seq.decoding()) {
                decodes++;
                context += seq.length;
            } else {
                prefill += seq.scheduledTokens;
            }
        }
        metrics.stepExecuted(prefill, decodes, context, nanos);
    }

    /** Appends a token the target chose to {@code seq} and tells its sink; returns why it ends there, or null. */
    private FinishReason emit(Sequence seq, int token, float[] logits, int row, int vocab, long now) {
        seq.append(token);
        seq.sampling.accept(token);
        recordTiming(seq, now);
        int top = seq.request.topLogprobs();
        seq.sink.onToken(token, top >= 0 ? fillLogprobs(logits, row, vocab, token, top) : null);
        FinishReason reason = StopRule.after(token, seq.request.params(), eosIds, seq.outputLength(), seq.length,
                maxModelLength);
        if (seq.grammar != null) {
            seq.grammar.accept(token);
            if (reason == null && seq.grammar.finished()) {
                reason = FinishReason.STOP; // the output is complete and the grammar allows nothing more
            }
        }
        return reason;
    }

    /**
     * Asks the proposer for drafts for the running sequences that decode, as many as the policy finds worth
     * verifying and as the request's token budget and the context leave room for.
     */
    private void proposeDrafts() {
        List<Sequence> running = scheduler.running();
        int decoding = 0;
        for (int i = 0; i < running.size(); i++) {
            Sequence seq = running.get(i);
            seq.clearDrafts();
            if (seq.decoding()) {
                decoding++;
            }
        }
        SpeculationPolicy policy = speculation.policy();
        double threshold = policy.threshold(decoding);
        DraftBatch batch = speculation.drafts();
        batch.clear();
        drafting.clear();
        for (int i = 0; i < running.size(); i++) {
            Sequence seq = running.get(i);
            if (!seq.decoding()) {
                continue;
            }
            // k drafts may yield k + 1 tokens, at positions up to length - 1 + k
            int cap = Math.min(seq.request.params().maxTokens() - seq.outputLength() - 1, maxModelLength - seq.length);
            // drafts are not masked, so a constrained sequence decodes one token a step
            int k = seq.grammar != null ? 0 : speculation.proposer().samplesDrafts(seq.request.params())
                    ? policy.sampledDrafts(seq.draftAcceptance, cap)
                    : policy.drafts(seq.draftAcceptance, threshold, decoding, cap);
            if (k > 0) {
                batch.add(seq.id, seq.tokens, seq.promptLength, seq.length, k, seq.request.params());
                drafting.add(seq);
            } else {
                seq.draftAcceptance = SpeculationPolicy.updated(seq.draftAcceptance, 0, 0);
            }
        }
        if (drafting.isEmpty()) {
            if (decoding > 0) {
                policy.draftedNothing();
            }
            return;
        }
        long start = System.nanoTime();
        speculation.proposer().propose(batch);
        long proposed = System.nanoTime() - start;
        int vocab = runner.vocabSize();
        int drafted = 0;
        for (int i = 0; i < drafting.size(); i++) {
            int[] drafts = batch.drafts(i);
            int count = 0;
            while (count < batch.draftCount(i) && drafts[count] >= 0 && drafts[count] < vocab) {
                count++; // a draft outside the vocabulary ends the draft: the model must never be fed one
            }
            drafting.get(i).setDrafts(drafts, count, batch.sampled(i) ? batch.draftProbabilities(i) : null);
            drafted += count;
        }
        policy.drafted(drafted, proposed);
    }

    /** A prefill-only sequence has its first token: its blocks wait for the decode instance, it runs no more here. */
    private void handOff(Sequence seq, long now) {
        scheduler.detach(seq);
        if (speculation != null) {
            speculation.proposer().finished(seq.id, seq.tokens, seq.promptLength, seq.length);
        }
        live.remove(seq.request.requestId());
        seq.handedOffNanos = now;
        handedOff.put(seq.request.requestId(), seq);
        handoffOrder.add(seq);
        seq.handoff.handedOff(Arrays.copyOf(seq.table.blockIds(), seq.table.size()), seq.computed);
    }

    /** Frees handed-off blocks that nobody took in time (the decode instance or the router died meanwhile). */
    private void expireHandoffs(long now) {
        while (!handoffOrder.isEmpty()) {
            Sequence oldest = handoffOrder.peek();
            boolean released = handedOff.get(oldest.request.requestId()) != oldest;
            if (!released && now - oldest.handedOffNanos < HANDOFF_TIMEOUT_NANOS) {
                return;
            }
            handoffOrder.poll();
            if (!released) {
                releaseHandoff(oldest.request.requestId());
            }
        }
    }

    /** Handed-off requests not yet released, whose blocks are held for a decode instance. */
    public int handoffsHeld() {
        return handedOff.size();
    }

    private void recordTiming(Sequence seq, long now) {
        if (seq.firstTokenNanos == 0) {
            seq.firstTokenNanos = now;
            metrics.firstToken(now - seq.arrivalNanos, seq.promptLength);
        } else {
            metrics.nextToken(now - seq.lastTokenNanos);
        }
        seq.lastTokenNanos = now;
    }

    private void finish(Sequence seq, FinishReason reason) {
        scheduler.remove(seq);
        if (speculation != null) {
            speculation.proposer().finished(seq.id, seq.tokens, seq.promptLength, seq.length);
        }
        live.remove(seq.request.requestId());
        metrics.requestEnded(reason, System.nanoTime() - seq.arrivalNanos, seq.prefixLookedUp ? seq.promptLength : 0,
                seq.cachedPromptTokens);
        seq.sink.onFinish(reason, new Usage(seq.promptLength, seq.outputLength(), seq.cachedPromptTokens));
    }

    /** Ends every request (shutdown or a failed step) so that no client waits forever. */
    public void abortAll() {
        for (Sequence seq : scheduler.all()) {
            finish(seq, FinishReason.ABORT);
        }
    }

    /** Log-probabilities of the raw logits: the sampled token's and the {@code top} most likely. */
    private Logprobs fillLogprobs(float[] logits, int offset, int vocab, int token, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        float logZ = (float) (max + Math.log(sum));
        logprobs.set(token, logits[offset + token] - logZ);
        float previous = Float.POSITIVE_INFINITY;
        int previousId = -1;
        for (int k = 0; k < top; k++) {
            int best = -1;
            for (int i = 0; i < vocab; i++) {
                float v = logits[offset + i];
                boolean afterPrevious = v < previous || (v == previous && i > previousId);
                if (afterPrevious && (best < 0 || v > logits[offset + best])) {
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            logprobs.addTop(best, logits[offset + best] - logZ);
            previous = logits[offset + best];
            previousId = best;
        }
        return logprobs;
    }

    public int numRunning() {
        return scheduler.numRunning();
    }

    public int numWaiting() {
        return scheduler.numWaiting();
    }

    /**
     * Gives back the memory an idle engine need not hold: the pages of free KV blocks (cached prefixes keep
     * theirs) and the step workspace. Returns the KV bytes given back. Call between steps.
     */
    public long releaseIdleMemory() {
        return runner.releaseIdle(kv.releasable(), kv.takeReleasable());
    }

    /** Bytes of KV memory resident now. */
    public long kvResidentBytes() {
        return runner.arena().residentBytes();
    }

    /** Share of KV blocks in use. */
    public double kvUsage() {
        return kv.usage();
    }

    public int freeBlocks() {
        return kv.freeBlocks();
    }

    public int totalBlocks() {
        return kv.totalBlocks();
    }

    public int blockSize() {
        return kv.blockSize();
    }
}
