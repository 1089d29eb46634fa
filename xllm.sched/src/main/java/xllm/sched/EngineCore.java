package xllm.sched;

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
import xllm.engine.runner.StopRule;
import xllm.engine.sample.Sampler;

/**
 * One engine instance's step: schedule, execute, then sample, emit and finish. Owned by the engine loop
 * thread; everything here runs on it.
 */
final class EngineCore {
    private final ModelRunner runner;
    private final BatchScheduler scheduler;
    private final Sampler sampler;
    private final ServiceMetrics metrics;
    private final int[] eosIds;
    private final int maxModelLength;
    private final Map<String, Sequence> live = new HashMap<>();
    private final Logprobs logprobs = new Logprobs();
    private long arrivals;

    EngineCore(ModelRunner runner, SchedulerConfig config, ServiceMetrics metrics, int[] eosIds) {
        this.runner = runner;
        this.metrics = metrics;
        this.scheduler = new BatchScheduler(config, runner.allocator(), metrics);
        this.sampler = new Sampler(runner.vocabSize());
        this.eosIds = eosIds.clone();
        this.maxModelLength = runner.model().config().maxPositions();
    }

    void submit(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos) {
        if (live.containsKey(request.requestId())) {
            sink.onFinish(FinishReason.ABORT, new Usage(request.promptLength(), 0, 0));
            return;
        }
        int capacity = Math.min(maxModelLength, request.promptLength() + request.params().maxTokens());
        Sequence seq = new Sequence(request, emitted, sink, arrivals++, arrivalNanos, capacity);
        live.put(request.requestId(), seq);
        scheduler.add(seq);
    }

    void abort(String requestId) {
        Sequence seq = live.get(requestId);
        if (seq != null) {
            finish(seq, FinishReason.ABORT);
        }
    }

    boolean hasWork() {
        return scheduler.hasWork();
    }

    /** Runs one step; false when there was nothing to run. */
    boolean step() {
        StepBatch batch = scheduler.schedule();
        if (batch.numSequences() == 0) {
            return false;
        }
        float[] logits = runner.execute(batch);
        scheduler.completeStep();
        int vocab = runner.vocabSize();
        long now = System.nanoTime();
        List<Sequence> scheduled = scheduler.scheduled();
        for (int i = 0; i < scheduled.size(); i++) {
            Sequence seq = scheduled.get(i);
            int row = batch.sampleRow(seq.batchIndex);
            if (row < 0 || seq.finish != null) {
                continue;
            }
            int token = sampler.sample(logits, row * vocab, seq.sampling);
            seq.append(token);
            seq.sampling.accept(token);
            recordTiming(seq, now);
            Logprobs lp = seq.request.topLogprobs() >= 0 ? fillLogprobs(logits, row * vocab, vocab, token, seq.request.topLogprobs()) : null;
            seq.sink.onToken(token, lp);
            FinishReason reason = finishReason(seq, token);
            if (reason != null) {
                finish(seq, reason);
            }
        }
        return true;
    }

    private void recordTiming(Sequence seq, long now) {
        if (seq.firstTokenNanos == 0) {
            seq.firstTokenNanos = now;
            metrics.timeToFirstToken.observeNanos(now - seq.arrivalNanos);
            metrics.queueTime.observeNanos(seq.firstScheduledNanos - seq.arrivalNanos);
            metrics.promptTokens.add(seq.promptLength);
        } else {
            metrics.interTokenLatency.observeNanos(now - seq.lastTokenNanos);
        }
        seq.lastTokenNanos = now;
        metrics.generationTokens.increment();
    }

    private FinishReason finishReason(Sequence seq, int token) {
        return StopRule.after(token, seq.request.params(), eosIds, seq.outputLength(), seq.length, maxModelLength);
    }

    private void finish(Sequence seq, FinishReason reason) {
        scheduler.remove(seq);
        live.remove(seq.request.requestId());
        seq.finish = reason;
        metrics.finished(reason);
        metrics.e2eLatency.observeNanos(System.nanoTime() - seq.arrivalNanos);
        seq.sink.onFinish(reason, new Usage(seq.promptLength, seq.outputLength(), seq.cachedPromptTokens));
    }

    /** Ends every request (shutdown or a failed step) so that no client waits forever. */
    void abortAll() {
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

    int numRunning() {
        return scheduler.numRunning();
    }

    int numWaiting() {
        return scheduler.numWaiting();
    }

    double kvUsage() {
        return runner.allocator().usage();
    }

    int freeBlocks() {
        return runner.allocator().freeBlocks();
    }
}
