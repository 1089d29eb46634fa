package xllm.api;

/**
 * vLLM's sleep mode: a server gives its memory back while it waits (weights unmapped, KV cache released) and
 * takes it again on request, for machines shared with other work. Thread-safe.
 */
public interface SleepMode {
    /** Lets requests in flight finish, then unloads; returns false when already asleep. New requests get 503. */
    boolean sleep() throws InterruptedException;

    /** Loads again; returns false when awake already. */
    boolean wakeUp();

    boolean sleeping();
}
