package xllm.http.generate;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;

/**
 * One request's output as the engine delivers it: an append-only log of token ids and their
 * log-probabilities. The engine thread is the only writer: it stores a token, publishes the new count
 * with a release write and unparks the reader, so it never blocks or takes a lock. The thread that
 * created the log is the only reader; it parks while there is nothing new.
 */
public final class TokenLog implements TokenSink {
    private static final VarHandle COUNT;
    private static final VarHandle FINISHED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            COUNT = lookup.findVarHandle(TokenLog.class, "count", int.class);
            FINISHED = lookup.findVarHandle(TokenLog.class, "finished", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Token columns; replaced (never changed in place below the count) when they fill up. */
    private record Columns(int[] tokens, float[] logprobs, int[] topCounts, int[] topIds, float[] topLogprobs) {
    }

    private final Thread reader;
    private final int topK;
    private volatile Columns columns;
    private int count;
    private boolean finished;
    private FinishReason finishReason;
    private Usage usage;

    /**
     * @param expectedTokens initial capacity; the log grows past it
     * @param topLogprobs -1 to keep no log-probabilities, else how many alternatives to keep per token
     */
    public TokenLog(int expectedTokens, int topLogprobs) {
        this.reader = Thread.currentThread();
        this.topK = topLogprobs;
        this.columns = allocate(Math.max(16, expectedTokens));
    }

    @Override
    public void onToken(int tokenId, Logprobs logprobs) {
        int n = count;
        Columns c = columns;
        if (n == c.tokens.length) {
            c = grow(c);
        }
        c.tokens[n] = tokenId;
        if (topK >= 0) {
            if (logprobs == null) {
                c.logprobs[n] = Float.NaN;
            } else {
                c.logprobs[n] = logprobs.sampledLogprob();
                int k = Math.min(topK, logprobs.topCount());
                c.topCounts[n] = k;
                for (int i = 0; i < k; i++) {
                    c.topIds[n * topK + i] = logprobs.topId(i);
                    c.topLogprobs[n * topK + i] = logprobs.topLogprob(i);
                }
            }
        }
        COUNT.setRelease(this, n + 1);
        LockSupport.unpark(reader);
    }

    @Override
    public void onFinish(FinishReason reason, Usage usage) {
        this.finishReason = reason;
        this.usage = usage;
        FINISHED.setRelease(this, true);
        LockSupport.unpark(reader);
    }

    /** Tokens published so far. Read {@link #finished()} first to know whether this count is final. */
    public int count() {
        return (int) COUNT.getAcquire(this);
    }

    public boolean finished() {
        return (boolean) FINISHED.getAcquire(this);
    }

    /** Why the engine ended the request; valid once {@link #finished()}. */
    public FinishReason finishReason() {
        return finishReason;
    }

    /** The engine's token counts; valid once {@link #finished()}. */
    public Usage usage() {
        return usage;
    }

    public int token(int i) {
        return columns.tokens[i];
    }

    /** The sampled token's log-probability at position {@code i}; NaN when the engine gave none. */
    public float logprob(int i) {
        return columns.logprobs[i];
    }

    public int topCount(int i) {
        return columns.topCounts[i];
    }

    public int topId(int i, int rank) {
        return columns.topIds[i * topK + rank];
    }

    public float topLogprob(int i, int rank) {
        return columns.topLogprobs[i * topK + rank];
    }

    private Columns allocate(int capacity) {
        boolean keep = topK >= 0;
        int top = keep ? capacity * topK : 0;
        return new Columns(new int[capacity], new float[keep ? capacity : 0], new int[keep ? capacity : 0],
                new int[top], new float[top]);
    }

    private Columns grow(Columns c) {
        int capacity = c.tokens.length * 2;
        Columns bigger = new Columns(Arrays.copyOf(c.tokens, capacity), Arrays.copyOf(c.logprobs, topK >= 0 ? capacity : 0),
                Arrays.copyOf(c.topCounts, topK >= 0 ? capacity : 0),
                Arrays.copyOf(c.topIds, c.topIds.length * 2), Arrays.copyOf(c.topLogprobs, c.topLogprobs.length * 2));
        columns = bigger;
        return bigger;
    }
}
