package xllm.engine.runner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import xllm.api.FinishReason;
import xllm.engine.model.ModelConfig;
import xllm.engine.model.StepBatch;
import xllm.engine.sample.Sampler;
import xllm.engine.sample.SequenceSampling;
import xllm.kv.BlockTable;

/**
 * Runs a fixed set of requests to completion in shared batches: every step takes each unfinished
 * sequence's pending tokens (whole prompts, chunked to the step's token budget, or one decode token).
 * For the command line and tests; the serving path schedules through its own continuous batcher.
 * Not thread-safe.
 */
public final class OfflineGenerator {
    private final ModelRunner runner;
    private final Sampler sampler;
    private final StepBatch batch = new StepBatch();
    private final int maxBatchTokens;
    private final int[] eosIds;

    /**
     * @param extraEosIds end-of-sequence ids besides the model's own (the tokenizer's eos, say)
     */
    public OfflineGenerator(ModelRunner runner, int maxBatchTokens, int... extraEosIds) {
        this.runner = runner;
        this.sampler = new Sampler(runner.vocabSize());
        this.maxBatchTokens = maxBatchTokens;
        int[] model = runner.model().config().eosTokenIds();
        this.eosIds = java.util.stream.IntStream.concat(java.util.Arrays.stream(model), java.util.Arrays.stream(extraEosIds))
                .distinct().toArray();
    }

    public List<GenerationResult> generate(List<GenerationRequest> requests, TokenListener listener) {
        ModelConfig config = runner.model().config();
        List<Sequence> sequences = new ArrayList<>();
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
            sequences.add(new Sequence(r));
        }
        try {
            while (step(sequences, listener)) {
                // each step advances every unfinished sequence
            }
        } finally {
            for (Sequence s : sequences) {
                s.table.releaseAll(runner.allocator());
            }
        }
        return sequences.stream().map(s -> new GenerationResult(s.request.promptIds(),
                Arrays.copyOfRange(s.tokens, s.promptLength, s.length), s.finish)).toList();
    }

    private boolean step(List<Sequence> sequences, TokenListener listener) {
        batch.clear();
        int budget = maxBatchTokens;
        int blockSize = runner.blockSize();
        for (Sequence s : sequences) {
            if (s.finish != null || budget == 0) {
                continue;
            }
            int n = Math.min(s.length - s.computed, budget);
            if (!s.table.ensureCapacity(s.computed + n, blockSize, runner.allocator())) {
                if (batch.numSequences() == 0) {
                    throw new IllegalStateException("KV cache too small: " + runner.allocator().totalBlocks()
                            + " blocks of " + blockSize + " tokens cannot hold one sequence of " + (s.computed + n) + " tokens");
                }
                continue;
            }
            s.batchIndex = batch.add(s.table, s.tokens, s.computed, n, s.computed, s.computed + n == s.length);
            s.scheduled = n;
            budget -= n;
        }
        if (batch.numSequences() == 0) {
            return false;
        }
        float[] logits = runner.execute(batch);
        ModelConfig config = runner.model().config();
        for (int i = 0; i < sequences.size(); i++) {
            Sequence s = sequences.get(i);
            if (s.scheduled == 0) {
                continue;
            }
            s.computed += s.scheduled;
            s.scheduled = 0;
            int row = batch.sampleRow(s.batchIndex);
            if (row < 0) {
                continue;
            }
            int token = sampler.sample(logits, row * runner.vocabSize(), s.sampling);
            s.append(token);
            s.sampling.accept(token);
            listener.onToken(i, token);
            s.finish = StopRule.after(token, s.request.params(), eosIds, s.length - s.promptLength, s.length,
                    config.maxPositions());
            if (s.finish != null) {
                s.table.releaseAll(runner.allocator());
            }
        }
        return true;
    }

    /** One request in flight: its tokens so far and how many of them are in the KV cache. */
    private static final class Sequence {
        final GenerationRequest request;
        final SequenceSampling sampling;
        final BlockTable table = new BlockTable();
        final int promptLength;
        int[] tokens;
        int length;
        int computed;
        int scheduled;
        int batchIndex;
        FinishReason finish;

        Sequence(GenerationRequest request) {
            this.request = request;
            this.sampling = new SequenceSampling(request.params(), request.promptIds());
            this.promptLength = request.promptIds().length;
            this.tokens = Arrays.copyOf(request.promptIds(), promptLength + Math.min(request.params().maxTokens(), 4096));
            this.length = promptLength;
        }

        void append(int token) {
            if (length == tokens.length) {
                tokens = Arrays.copyOf(tokens, tokens.length * 2);
            }
            tokens[length++] = token;
        }
    }
}
