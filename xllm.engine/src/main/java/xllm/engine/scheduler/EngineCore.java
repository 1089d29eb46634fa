package xllm.engine.scheduler;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.model.StepBatch;
import xllm.engine.runner.ModelRunner;
import xllm.engine.runner.StepOutput;
import xllm.engine.sample.Sampler;
import xllm.kv.BlockAllocator;

/**
 * One engine instance's step, the one every path runs (serving, workers, offline generation, benchmarks):
 * the scheduler decides a {@link StepBatch}, the runner executes it into a {@link StepOutput}, and here each
 * sampling sequence gets its token, its sink hears of it, and the stop rules end it. Owned by one thread,
 * which calls everything here.
 */
public final class EngineCore {
    private final ModelRunner runner;
    private final KvMemory kv;
    private final BatchScheduler scheduler;
    private final Sampler sampler;
    private final RequestMetrics metrics;
    private final int[] eosIds;
    private final int maxModelLength;
    private final Map<String, Sequence> live = new HashMap<>();
    private final Logprobs logprobs = new Logprobs();
    private long arrivals;

    /**
     * @param eosIds tokens that end a sequence (unless it ignores them)
     * @param cacheListener told of every prefix block cached or evicted, on this thread; null for none
     */
    public EngineCore(ModelRunner runner, SchedulerConfig config, int[] eosIds, RequestMetrics metrics,
                      BlockAllocator.CacheListener cacheListener) {
        this.runner = runner;
        this.metrics = metrics;
        this.kv = new KvMemory(runner.numBlocks(), runner.blockSize(), config.prefixCaching(), cacheListener);
        this.scheduler = new BatchScheduler(config, kv, metrics);
        this.sampler = new Sampler(runner.vocabSize());
        this.eosIds = eosIds.clone();
        this.maxModelLength = runner.model().config().maxPositions();
    }

    /**
     * Queues a request, resuming after {@code emitted} output tokens that another instance produced: its sink
     * hears of the tokens after those. A request id already live here is refused with an abort.
     */
    public void submit(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos) {
        if (live.containsKey(request.requestId())) {
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return;
        }
        int capacity = Math.min(maxModelLength, request.promptLength() + request.params().maxTokens());
        Sequence seq = new Sequence(arrivals++, request, emitted, sink, arrivalNanos, capacity);
        live.put(request.requestId(), seq);
        scheduler.add(seq);
    }

    public void abort(String requestId) {
        Sequence seq = live.get(requestId);
        if (seq != null) {
            finish(seq, FinishReason.ABORT);
        }
    }

    public boolean hasWork() {
        return scheduler.hasWork();
    }

    /** Runs one step; false when there was nothing to run. */
    public boolean step() {
        StepBatch batch = scheduler.schedule();
        if (batch.numEntries() == 0) {
            return false;
        }
        StepOutput output = runner.execute(batch);
        scheduler.completeStep();
        float[] logits = output.logits();
        int vocab = output.vocabSize();
        long now = System.nanoTime();
        List<Sequence> scheduled = scheduler.scheduled();
        for (int entry = 0; entry < scheduled.size(); entry++) {
            Sequence seq = scheduled.get(entry);
            int offset = output.logitsOffset(entry);
            if (offset < 0 || seq.status == SequenceStatus.FINISHED) {
                continue;
            }
            int token = sampler.sample(logits, offset, seq.sampling);
            seq.append(token);
            seq.sampling.accept(token);
            recordTiming(seq, now);
            int top = seq.request.topLogprobs();
            seq.sink.onToken(token, top >= 0 ? fillLogprobs(logits, offset, vocab, token, top) : null);
            FinishReason reason = StopRule.after(token, seq.request.params(), eosIds, seq.outputLength(), seq.length,
                    maxModelLength);
            if (reason != null) {
                finish(seq, reason);
            }
        }
        return true;
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
