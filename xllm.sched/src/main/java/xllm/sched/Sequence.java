package xllm.sched;

import java.util.Arrays;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.TokenSink;
import xllm.engine.sample.SequenceSampling;
import xllm.kv.BlockTable;

/**
 * One request inside an engine instance: its tokens so far (prompt, then output), how many of them have
 * KV in the cache, the blocks that hold it, and its timings. Owned by the engine loop thread.
 */
final class Sequence {
    final GenerateRequest request;
    final TokenSink sink;
    final SequenceSampling sampling;
    final long arrivalOrder;
    final long arrivalNanos;
    final int promptLength;
    final BlockTable table = new BlockTable();

    int[] tokens;
    int length;
    /** Tokens whose keys and values are in the cache. */
    int computed;
    /** Leading blocks registered in the prefix cache, and the key of the last of them. */
    int keyedBlocks;
    long lastKey;
    /** Tokens scheduled in the current step, and this sequence's index in the step's batch. */
    int scheduled;
    int batchIndex;
    int cachedPromptTokens;
    boolean admitted;
    long firstScheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;
    FinishReason finish;

    /** @param emitted output tokens another instance already produced (resume), else empty */
    Sequence(GenerateRequest request, int[] emitted, TokenSink sink, long arrivalOrder, long arrivalNanos, int capacity) {
        this.request = request;
        this.sink = sink;
        this.arrivalOrder = arrivalOrder;
        this.arrivalNanos = arrivalNanos;
        this.promptLength = request.promptLength();
        this.tokens = request.promptIds();
        this.tokens = Arrays.copyOf(tokens, Math.max(capacity, promptLength + emitted.length + 1));
        System.arraycopy(emitted, 0, this.tokens, promptLength, emitted.length);
        this.length = promptLength + emitted.length;
        this.sampling = new SequenceSampling(request.params(), request.promptIds());
        this.sampling.resumeAfter(emitted);
        this.lastKey = xllm.kv.BlockHashes.ROOT;
    }

    int outputLength() {
        return length - promptLength;
    }

    int pending() {
        return length - computed;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    int priority() {
        return request.priority();
    }

    /** Scheduling order: lower priority value first, then earlier arrival. */
    static int compare(Sequence a, Sequence b) {
        int c = Integer.compare(a.priority(), b.priority());
        return c != 0 ? c : Long.compare(a.arrivalOrder, b.arrivalOrder);
    }
}
