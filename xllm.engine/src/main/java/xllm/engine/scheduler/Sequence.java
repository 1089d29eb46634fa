package xllm.engine.scheduler;

import java.util.Arrays;
import xllm.api.GenerateRequest;
import xllm.api.TokenSink;
import xllm.engine.grammar.GrammarMatcher;
import xllm.engine.sample.SequenceSampling;
import xllm.engine.spec.SpeculationPolicy;
import xllm.kv.BlockHashes;
import xllm.kv.BlockTable;

/**
 * One request inside an engine instance: its status, its tokens so far (prompt, then output), how many of
 * them have KV in the cache, the blocks that hold it, and its timings. Owned by the engine loop thread.
 */
final class Sequence {
    /** The id a step names it by: its arrival order in this instance. */
    final long id;
    final GenerateRequest request;
    final TokenSink sink;
    final SequenceSampling sampling;
    final long arrivalNanos;
    final int promptLength;
    final BlockTable table = new BlockTable();

    SequenceStatus status = SequenceStatus.WAITING;
    int[] tokens;
    int length;
    /** Tokens whose keys and values are in the cache. */
    int computed;
    /** Tokens in the step being built or run; 0 between steps. */
    int scheduledTokens;
    /** Leading blocks registered in the prefix cache, and the key of the last of them. */
    int keyedBlocks;
    long lastKey = BlockHashes.ROOT;
    /** Whether its prompt was looked up in the prefix cache (once, at first admission), and what was found. */
    boolean prefixLookedUp;
    int cachedPromptTokens;
    /** Draft tokens to verify in this step, kept in {@code tokens[length .. length + draftCount)}. */
    int draftCount;
    /** The distributions the drafts were sampled from, a row of vocab floats each; null for deterministic drafts. */
    float[] draftProbabilities;
    /** Estimated chance that the target accepts a draft token of this sequence. */
    double draftAcceptance = SpeculationPolicy.PRIOR_ACCEPTANCE;
    /** Non-null for a prefill-only request: told of the prompt's KV blocks after the first token. */
    KvHandoff handoff;
    /** When its blocks were handed off, for the timeout of an import that never comes. */
    long handedOffNanos;
    /** Where the output stands in the request's constraint; null for free text. */
    GrammarMatcher grammar;
    long firstScheduledNanos;
    long firstTokenNanos;
    long lastTokenNanos;

    /** @param emitted output tokens another instance already produced (resume), else empty */
    Sequence(long id, GenerateRequest request, int[] emitted, TokenSink sink, long arrivalNanos, int capacity) {
        this.id = id;
        this.request = request;
        this.sink = sink;
        this.arrivalNanos = arrivalNanos;
        this.promptLength = request.promptLength();
        this.tokens = Arrays.copyOf(request.promptIds(), Math.max(capacity, promptLength + emitted.length + 1));
        System.arraycopy(emitted, 0, this.tokens, promptLength, emitted.length);
        this.length = promptLength + emitted.length;
        this.sampling = new SequenceSampling(request.params(), request.promptIds());
        this.sampling.resumeAfter(emitted);
    }

    int outputLength() {
        return length - promptLength;
    }

    /** Tokens not yet in the cache: a prompt (or its rest), or the last sampled token. */
    int pending() {
        return length - computed;
    }

    /**
     * Sets the drafts to verify next: {@code drafts[0 .. count)} after the sequence's tokens, sampled from
     * {@code probabilities} (null for deterministic drafts).
     */
    void setDrafts(int[] drafts, int count, float[] probabilities) {
        if (length + count > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(length + count, tokens.length * 2));
        }
        System.arraycopy(drafts, 0, tokens, length, count);
        draftCount = count;
        draftProbabilities = probabilities;
    }

    void clearDrafts() {
        draftCount = 0;
        draftProbabilities = null;
    }

    /** Decoding: every token but the last sampled one is in the cache. */
    boolean decoding() {
        return status == SequenceStatus.RUNNING && computed == length - 1;
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    /** Batch work that runs in the slack online work leaves. */
    boolean offline() {
        return request.offline();
    }

    /** Prompt tokens (or, after preemption, prompt and output) still to compute before it can decode. */
    boolean prefilling() {
        return computed < length - 1;
    }

    /** Scheduling order: online before offline, then lower priority value first, then earlier arrival. */
    static int compare(Sequence a, Sequence b) {
        int c = Boolean.compare(a.offline(), b.offline());
        c = c != 0 ? c : Integer.compare(a.request.priority(), b.request.priority());
        return c != 0 ? c : Long.compare(a.id, b.id);
    }
}
