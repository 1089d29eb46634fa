package xllm.http.request;

import static xllm.http.request.RequestFields.invalid;
import static xllm.http.request.RequestFields.require;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import xllm.api.InferenceService;
import xllm.api.InvalidSamplingParameter;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;

/**
 * What a completion or chat request asks of the generation, validated field by field: sampling, limits,
 * stop conditions, how many choices and what to report, the form of the output and the tools the model may
 * call. Shared by all choices of the request.
 *
 * @param sampling the sampling fields, checked by {@link SamplingParams}; each choice gets its own seed and
 *     token budget ({@link #sampling(int, int)})
 * @param seed null when the client gave none (each choice then draws its own)
 * @param maxTokens null when the client gave none: generate up to the rest of the context
 * @param maxTokensField which field {@code maxTokens} came from, for error messages
 * @param topLogprobs -1: no log-probabilities; 0: the sampled token's; k: also the k most likely
 * @param serviceTier the tier the response names, as OpenAI's do: "flex" (offline: runs in the slack online
 *     work leaves) or "default" (online); null when the request named none
 * @param constraint the language every choice's output must belong to, or null for free text
 * @param tools the tools a chat offers; {@link ToolUse#NONE} for none
 */
public record GenerationSpec(
        SamplingParams sampling,
        Long seed,
        Integer maxTokens,
        String maxTokensField,
        List<String> stop,
        int n,
        int topLogprobs,
        boolean echo,
        int priority,
        boolean stream,
        boolean includeUsage,
        String serviceTier,
        OutputConstraint constraint,
        ToolUse tools) {

    /** More choices than this per request is almost surely a mistake and would flood the engine. */
    public static final int MAX_N = 128;
    public static final int MAX_LOGPROBS = 20;
    /** The service tiers OpenAI accepts; all but flex run online here. */
    private static final List<String> SERVICE_TIERS = List.of("auto", "default", "flex", "priority");

    public GenerationSpec {
        stop = List.copyOf(stop);
    }

    /**
     * Reads the fields of {@code /v1/completions} ({@code chat} false) or {@code /v1/chat/completions};
     * {@code service} checks that it can enforce the output's constraint.
     */
    public static GenerationSpec parse(RequestFields f, boolean chat, InferenceService service) {
        refuseUnsupported(f, chat);
        long topK = f.integer("top_k", 0);
        require(topK >= -1, "top_k", "top_k must be -1 or 0 (disabled) or at least 1, got " + topK);
        SamplingParams sampling;
        try {
            // seed and max_tokens are each choice's own: see sampling(budget, choice)
            sampling = SamplingParams.builder()
                    .temperature((float) f.number("temperature", 1.0))
                    .topK((int) Math.max(0, topK))
                    .topP((float) f.number("top_p", 1.0))
                    .minP((float) f.number("min_p", 0.0))
                    .repetitionPenalty((float) f.number("repetition_penalty", 1.0))
                    .presencePenalty((float) f.number("presence_penalty", 0.0))
                    .frequencyPenalty((float) f.number("frequency_penalty", 0.0))
                    .stopTokenIds(f.integers("stop_token_ids"))
                    .ignoreEos(f.bool("ignore_eos", false))
                    .build();
        } catch (InvalidSamplingParameter e) {
            throw invalid(e.parameter(), e.getMessage());
        }

        Long seed = f.has("seed") ? f.integer("seed", 0L) : null;
        String maxTokensField = chat && f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Integer maxTokens = f.has(maxTokensField)
                ? f.integer(maxTokensField, 1, 1, Integer.MAX_VALUE)
                : null;
        int n = f.integer("n", 1, 1, MAX_N);

        List<String> stop = f.texts("stop");
        require(stop.stream().noneMatch(String::isEmpty), "stop", "stop strings must not be empty");

        int topLogprobs = chat ? chatLogprobs(f) : f.integer("logprobs", -1, 0, MAX_LOGPROBS);
        boolean echo = !chat && f.bool("echo", false);
        require(!(echo && topLogprobs >= 0), "echo",
                "echo together with logprobs is not supported: prompt log-probabilities are not computed");
        int priority = f.integer("priority", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);

        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        JsonNode options = f.value("stream_options");
        if (options != null) {
            require(stream, "stream_options", "stream_options can only be set when stream is true");
            RequestFields streamOptions = new RequestFields(options);
            includeUsage = streamOptions.bool("include_usage", false);
        }
        String tier = f.text("service_tier", null);
        require(tier == null || SERVICE_TIERS.contains(tier), "service_tier",
                "service_tier must be one of \"auto\", \"default\", \"flex\" or \"priority\", got \"" + tier + "\"");
        String servedTier = tier == null ? null : tier.equals("flex") ? "flex" : "default";
        ToolUse tools = chat ? ToolUse.parse(f) : ToolUse.NONE;
        OutputConstraint constraint = OutputConstraint.parse(f, tools, service);
        return new GenerationSpec(sampling, seed, maxTokens, maxTokensField, stop, n, topLogprobs, echo, priority,
                stream, includeUsage, servedTier, constraint, tools);
    }

    /** The constraint every choice's generation is submitted with, or null for free text. */
    public StructuredOutput structuredOutput() {
        return constraint == null ? null : constraint.output();
    }

    /** Batch work: it runs only in the slack that online requests leave. */
    public boolean offline() {
        return "flex".equals(serviceTier);
    }

    /**
     * How many tokens a choice may generate after a prompt of {@code promptLength}: the requested
     * {@code max_tokens}, or the rest of the context. Refuses a request that cannot fit, in vLLM's words.
     */
    public int completionBudget(int promptLength, int maxModelLength, String inputField) {
        if (promptLength >= maxModelLength) {
            throw invalid(inputField, "This model's maximum context length is " + maxModelLength
                    + " tokens. However, your request has " + promptLength
                    + " input tokens. Please reduce the length of the " + inputField + ".");
        }
        if (maxTokens == null) {
            return maxModelLength - promptLength;
        }
        long total = (long) promptLength + maxTokens;
        if (total > maxModelLength) {
            throw invalid(maxTokensField, "This model's maximum context length is " + maxModelLength
                    + " tokens. However, you requested " + total + " tokens (" + promptLength + " in the "
                    + inputField + ", " + maxTokens + " in the completion). Please reduce the length of the "
                    + inputField + " or completion.");
        }
        return maxTokens;
    }

    /** Sampling for choice {@code choice} of the request: seeds {@code seed + choice}, or a fresh one. */
    public SamplingParams sampling(int budget, int choice) {
        long choiceSeed = seed != null ? seed + choice : ThreadLocalRandom.current().nextLong();
        return sampling.withSeedAndMaxTokens(choiceSeed, budget);
    }

    private static int chatLogprobs(RequestFields f) {
        boolean logprobs = f.bool("logprobs", false);
        int top = f.integer("top_logprobs", 0, 0, MAX_LOGPROBS);
        require(logprobs || !f.has("top_logprobs") || top == 0, "top_logprobs",
                "top_logprobs needs logprobs set to true");
        return logprobs ? top : -1;
    }

    private static void refuseUnsupported(RequestFields f, boolean chat) {
        JsonNode bias = f.value("logit_bias");
        require(bias == null || bias.isEmpty(), "logit_bias", "logit_bias is not supported");
        JsonNode bestOf = f.value("best_of");
        require(bestOf == null || bestOf.asLong() <= Math.max(1, f.integer("n", 1)), "best_of",
                "best_of larger than n is not supported");
        if (!chat) {
            String suffix = f.text("suffix", "");
            require(suffix.isEmpty(), "suffix", "suffix is not supported");
        }
    }
}
