package xllm.api;

import java.util.Objects;

/**
 * One generation as the service layer submits it: a tokenized prompt and how to continue it.
 *
 * @param requestId unique per live request; used to abort it
 * @param promptIds the prompt as token ids (chat templates already rendered)
 * @param params sampling parameters
 * @param priority lower values are scheduled first (FCFS among equals), as in vLLM
 * @param topLogprobs log-probabilities to report per token: -1 none, 0 only the sampled token, n the top n too
 * @param offline batch work (a job, or {@code service_tier} "flex") that runs only in the slack online work leaves
 * @param structuredOutput the language the output must belong to, or null for free text
 */
public record GenerateRequest(String requestId, int[] promptIds, SamplingParams params, int priority, int topLogprobs,
        boolean offline, StructuredOutput structuredOutput) {
    public GenerateRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(params, "params");
        if (promptIds == null || promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt must contain at least one token");
        }
        if (topLogprobs > 20) {
            throw new IllegalArgumentException("top_logprobs must be at most 20, got " + topLogprobs);
        }
        promptIds = promptIds.clone();
    }

    /** A request without a constraint on its output. */
    public GenerateRequest(String requestId, int[] promptIds, SamplingParams params, int priority, int topLogprobs,
            boolean offline) {
        this(requestId, promptIds, params, priority, topLogprobs, offline, null);
    }

    /** An online request. */
    public GenerateRequest(String requestId, int[] promptIds, SamplingParams params, int priority, int topLogprobs) {
        this(requestId, promptIds, params, priority, topLogprobs, false);
    }

    /** This request with its output constrained to {@code constraint} (null: free text). */
    public GenerateRequest withStructuredOutput(StructuredOutput constraint) {
        return new GenerateRequest(requestId, promptIds, params, priority, topLogprobs, offline, constraint);
    }

    @Override
    public int[] promptIds() {
        return promptIds.clone();
    }

    public int promptLength() {
        return promptIds.length;
    }

    /** The prompt without a defensive copy, for the engine that owns the request. */
    public int promptId(int i) {
        return promptIds[i];
    }
}
