package xllm.engine.scheduler;

/** Receives each generated token as it is sampled, on the generating thread. */
@FunctionalInterface
public interface TokenListener {
    void onToken(int request, int token);

    TokenListener NONE = (request, token) -> { };
}
