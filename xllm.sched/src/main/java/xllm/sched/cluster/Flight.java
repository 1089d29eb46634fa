package xllm.sched.cluster;

import org.agrona.collections.IntArrayList;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.sched.ServiceMetrics;

/**
 * One request in the router, from admission to its end: the worker it runs on and the tokens its client
 * has. A worker's token is taken only if that worker holds the request and the token is the next
 * position, so that a request moved to another worker never shows a token twice or skips one. Called by
 * the event thread of whichever worker holds it and by the supervisor; every method holds its lock, so
 * the client's sink sees one call at a time, in order.
 */
public final class Flight {
    public static final int UNASSIGNED = -1;

    final long key;
    public final GenerateRequest request;
    private final TokenSink sink;
    private final ServiceMetrics metrics;
    private final long arrivalNanos = System.nanoTime();
    private long lastTokenNanos;
    private final IntArrayList emitted = new IntArrayList();
    private int worker = UNASSIGNED;
    private boolean aborted;
    private boolean finished;

    public Flight(long key, GenerateRequest request, TokenSink sink, ServiceMetrics metrics) {
        this.key = key;
        this.request = request;
        this.sink = sink;
        this.metrics = metrics;
    }

    /** Replays tokens an earlier router already sent (after a router restart, to a new client sink). */
    synchronized void replay(int[] tokens) {
        for (int token : tokens) {
            emitted.addInt(token);
            sink.onToken(token, null);
        }
    }

    /** Takes the tokens another instance produced before this request came here; its client already has them. */
    public synchronized void continueAfter(int[] tokens) {
        for (int token : tokens) {
            emitted.addInt(token);
        }
    }

    /** Moves the request to {@code target}; returns the tokens to resume after, or null when it ended. */
    public synchronized int[] assign(int target) {
        if (finished) {
            return null;
        }
        worker = target;
        return emitted.toIntArray();
    }

    /** Output tokens its client has. */
    public synchronized int emittedCount() {
        return emitted.size();
    }

    public synchronized int worker() {
        return worker;
    }

    /** Marks the request as cancelled; returns the worker to tell, or {@link #UNASSIGNED}. */
    public synchronized int abort() {
        aborted = true;
        return finished ? UNASSIGNED : worker;
    }

    public synchronized boolean aborted() {
        return aborted;
    }

    /** Takes a token from {@code from} at output {@code position}; false when stale or a repeat. */
    public synchronized boolean token(int from, int position, int token, Logprobs logprobs) {
        if (finished || from != worker || position != emitted.size()) {
            return false;
        }
        emitted.addInt(token);
        long now = System.nanoTime();
        if (lastTokenNanos == 0) {
            metrics.firstToken(now - arrivalNanos, request.promptLength());
        } else {
            metrics.nextToken(now - lastTokenNanos);
        }
        lastTokenNanos = now;
        sink.onToken(token, logprobs);
        return true;
    }

    /** Ends the request if {@code from} holds it (any worker when {@link #UNASSIGNED}); false otherwise. */
    public synchronized boolean finish(int from, FinishReason reason, Usage usage) {
        if (finished || (from != UNASSIGNED && from != worker)) {
            return false;
        }
        finished = true;
        metrics.requestEnded(reason, System.nanoTime() - arrivalNanos, request.promptLength(), usage.cachedPromptTokens());
        sink.onFinish(reason, usage);
        return true;
    }

    /** Ends the request with the tokens it has. */
    public synchronized boolean finishHere(FinishReason reason) {
        return finish(UNASSIGNED, reason, new Usage(request.promptLength(), emitted.size(), 0));
    }
}
