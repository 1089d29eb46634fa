package xllm.engine.scheduler;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.agrona.collections.IntArrayList;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.model.ModelConfig;
import xllm.engine.runner.ModelRunner;
import xllm.engine.spec.Speculation;

/**
 * Runs a fixed set of requests to completion: submits them all to one {@link EngineCore} and steps it until
 * none is left, as serving does. Without prefix caching: each call computes every prompt it is given, which
 * is what benchmarks and tests that rerun the same prompts (batched, or under another expert placement)
 * mean to run. For the command line and tests. Not thread-safe.
 */
public final class OfflineGenerator {
    /** Sequences one step may run: all of a call's requests at once, as far as the token budget allows. */
    private static final int MAX_SEQUENCES = 4096;

    private final ModelRunner runner;
    private final EngineCore core;
    private final DraftCounts drafts = new DraftCounts();
    private long submitted;

    /**
     * @param maxBatchTokens token budget of one step (whole prompts are chunked to it)
     * @param extraEosIds end-of-sequence ids besides the model's own (the tokenizer's eos, say)
     */
    public OfflineGenerator(ModelRunner runner, int maxBatchTokens, int... extraEosIds) {
        this(runner, maxBatchTokens, null, extraEosIds);
    }

    /** @param speculation how to draft and verify several tokens a step; null to decode one at a time */
    public OfflineGenerator(ModelRunner runner, int maxBatchTokens, Speculation speculation, int... extraEosIds) {
        this.runner = runner;
        int[] eosIds = IntStream.concat(Arrays.stream(runner.model().config().eosTokenIds()), Arrays.stream(extraEosIds))
                .distinct().toArray();
        this.core = new EngineCore(runner, new SchedulerConfig(maxBatchTokens, MAX_SEQUENCES, 0, false), eosIds,
                drafts, null, speculation);
    }

    /** Draft tokens verified so far, over every call. */
    public long draftTokens() {
        return drafts.draftTokens();
    }

    /** Draft tokens the target accepted so far, over every call. */
    public long acceptedTokens() {
        return drafts.acceptedTokens();
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests, TokenListener listener) {
        ModelConfig config = runner.model().config();
        for (GenerationRequest r : requests) {
            if (r.promptIds().length >= config.maxPositions()) {
                throw new IllegalArgumentException("prompt of " + r.promptIds().length
                        + " tokens leaves no room in the model's context of " + config.maxPositions());
            }
            for (int id : r.promptIds()) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary of " + config.vocabSize());
                }
            }
        }
        Output[] outputs = new Output[requests.size()];
        for (int i = 0; i < outputs.length; i++) {
            GenerationRequest r = requests.get(i);
            outputs[i] = new Output(i, listener);
            core.submit(new GenerateRequest("offline-" + submitted++, r.promptIds(), r.params(), 0, -1), new int[0],
                    outputs[i], System.nanoTime());
        }
        try {
            runToCompletion();
        } catch (RuntimeException e) {
            core.abortAll(); // no request of this call outlives it, whatever failed
            throw e;
        }
        return IntStream.range(0, outputs.length).mapToObj(i -> new GenerationResult(requests.get(i).promptIds(),
                outputs[i].tokens.toIntArray(), outputs[i].finish)).toList();
    }

    private void runToCompletion() {
        // a step that only preempted runs nothing; two idle steps in a row mean the next sequence cannot fit
        for (int idle = 0; core.hasWork(); ) {
            idle = core.step() ? 0 : idle + 1;
            if (idle == 2) {
                throw new IllegalStateException("KV cache too small: " + core.totalBlocks() + " blocks of " + core.blockSize()
                        + " tokens cannot hold the next sequence alone");
            }
        }
    }

    /** Share of the KV blocks held by sequences: 0 whenever {@link #generate} has returned. */
    public double kvUsage() {
        return core.kvUsage();
    }

    /** One request's tokens as the core delivers them. */
    private static final class Output implements TokenSink {
        final int index;
        final TokenListener listener;
        final IntArrayList tokens = new IntArrayList();
        FinishReason finish;

        Output(int index, TokenListener listener) {
            this.index = index;
            this.listener = listener;
        }

        @Override
        public void onToken(int tokenId, Logprobs logprobs) {
            tokens.addInt(tokenId);
            listener.onToken(index, tokenId);
        }

        @Override
        public void onFinish(FinishReason reason, Usage usage) {
            finish = reason;
        }
    }
}
