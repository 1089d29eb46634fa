package xllm.api;

import java.util.List;

/**
 * The service as the API layer sees it: text in and out through the model's tokenizer, generation by
 * token ids. Thread-safe: called from many request threads at once.
 */
public interface InferenceService {
    ModelInfo model();

    /** False while the model is still loading. */
    boolean ready();

    /**
     * True once the service answers at full speed: ready, and, where it warms up its serving path (the HTTP
     * layer's code, not only the engine's) before reporting healthy, warm. {@code GET /health} answers 200 only then.
     */
    default boolean healthy() {
        return ready();
    }

    /** Why requests are refused while {@link #ready()} is false, for the 503 a client gets. */
    default String notReadyReason() {
        return "the model is still loading; retry when GET /health answers 200";
    }

    int[] tokenize(String text, boolean addSpecialTokens);

    String detokenize(int[] ids, boolean skipSpecialTokens);

    /** Streaming detokenizer for one request: feed ids, get text deltas that never split a character. */
    TextStream newTextStream();

    /**
     * The model's chat template applied to {@code messages}; refuses models without one.
     *
     * @param tools the tools the model may call, each the JSON text of an OpenAI tool object
     *     ({@code {"type": "function", "function": {"name", "description", "parameters"}}}); empty for none
     */
    String renderChat(List<ChatMessage> messages, List<String> tools, boolean addGenerationPrompt);

    /**
     * Compiles {@code constraint} as the engine would, so that a request the engine cannot serve is refused
     * before it is queued: a {@link ServiceException} (400) naming the problem, such as a schema keyword that
     * cannot be enforced or a grammar's syntax error.
     */
    void checkStructuredOutput(StructuredOutput constraint);

    /** End-of-sequence token ids (the model's and the tokenizer's). */
    int[] eosTokenIds();

    /**
     * Queues a generation; output arrives on {@code sink}. Throws {@link ServiceException} for a context
     * overflow (400) or a full waiting queue (429).
     */
    void submit(GenerateRequest request, TokenSink sink);

    /**
     * Like {@link #submit}, continuing a generation that another instance began and that produced
     * {@code emitted} so far: {@code sink} gets the tokens after those, and the usage counts them all.
     */
    void resume(GenerateRequest request, int[] emitted, TokenSink sink);

    /** Stops a request early; its sink gets {@link FinishReason#ABORT}. Unknown ids are ignored. */
    void abort(String requestId);

    /** Prometheus text exposition of the service's metrics. */
    String metricsText();

    /** Incremental detokenization of one stream of tokens. Not thread-safe. */
    interface TextStream {
        String next(int tokenId);

        String flush();
    }
}
