package xllm.api;

/**
 * How to pick each next token of one request. A plain value: validated once at construction, shared
 * freely between threads.
 *
 * @param temperature 0 means greedy; otherwise logits are divided by it before softmax
 * @param topK keep only the k most likely tokens; 0 or less disables
 * @param topP keep the smallest set whose probability reaches p; 1 disables
 * @param minP drop tokens whose probability is below minP times the best one; 0 disables
 * @param repetitionPenalty divides positive (multiplies negative) logits of tokens already seen; 1 disables
 * @param presencePenalty subtracted once from the logit of every token already generated
 * @param frequencyPenalty subtracted per occurrence of a token already generated
 * @param seed per-request seed; the same seed and request give the same output
 * @param maxTokens most tokens to generate
 * @param stopTokenIds tokens that end the generation (besides end-of-sequence)
 * @param ignoreEos keep generating past end-of-sequence tokens
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        long seed,
        int maxTokens,
        int[] stopTokenIds,
        boolean ignoreEos) {

    /** @throws InvalidSamplingParameter naming the first parameter out of its range */
    public SamplingParams {
        require(temperature >= 0 && Float.isFinite(temperature), "temperature",
                "temperature must be a number >= 0, got " + temperature);
        require(topP > 0 && topP <= 1, "top_p", "top_p must be in (0, 1], got " + topP);
        require(minP >= 0 && minP <= 1, "min_p", "min_p must be in [0, 1], got " + minP);
        require(repetitionPenalty > 0 && Float.isFinite(repetitionPenalty), "repetition_penalty",
                "repetition_penalty must be a number > 0, got " + repetitionPenalty);
        require(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty",
                "presence_penalty must be in [-2, 2], got " + presencePenalty);
        require(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty",
                "frequency_penalty must be in [-2, 2], got " + frequencyPenalty);
        require(maxTokens >= 1, "max_tokens", "max_tokens must be at least 1, got " + maxTokens);
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds.clone();
    }

    private static void require(boolean condition, String parameter, String message) {
        if (!condition) {
            throw new InvalidSamplingParameter(parameter, message);
        }
    }

    /** These parameters with another seed and token budget: what each choice of one request samples with. */
    public SamplingParams withSeedAndMaxTokens(long seed, int maxTokens) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxTokens, stopTokenIds, ignoreEos);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().temperature(0f).maxTokens(maxTokens).build();
    }

    public boolean isGreedy() {
        return temperature == 0f || topK == 1;
    }

    public boolean hasPenalties() {
        return repetitionPenalty != 1f || presencePenalty != 0f || frequencyPenalty != 0f;
    }

    public boolean isStopToken(int token) {
        for (int stop : stopTokenIds) {
            if (stop == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int[] stopTokenIds() {
        return stopTokenIds.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with the OpenAI defaults: temperature 1, no truncation, no penalties. */
    public static final class Builder {
        private float temperature = 1f;
        private int topK = 0;
        private float topP = 1f;
        private float minP = 0f;
        private float repetitionPenalty = 1f;
        private float presencePenalty = 0f;
        private float frequencyPenalty = 0f;
        private long seed = 0L;
        private int maxTokens = 16;
        private int[] stopTokenIds = new int[0];
        private boolean ignoreEos = false;

        private Builder() {
        }

        public Builder temperature(float v) { this.temperature = v; return this; }
        public Builder topK(int v) { this.topK = v; return this; }
        public Builder topP(float v) { this.topP = v; return this; }
        public Builder minP(float v) { this.minP = v; return this; }
        public Builder repetitionPenalty(float v) { this.repetitionPenalty = v; return this; }
        public Builder presencePenalty(float v) { this.presencePenalty = v; return this; }
        public Builder frequencyPenalty(float v) { this.frequencyPenalty = v; return this; }
        public Builder seed(long v) { this.seed = v; return this; }
        public Builder maxTokens(int v) { this.maxTokens = v; return this; }
        public Builder stopTokenIds(int... v) { this.stopTokenIds = v; return this; }
        public Builder ignoreEos(boolean v) { this.ignoreEos = v; return this; }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty,
                    frequencyPenalty, seed, maxTokens, stopTokenIds, ignoreEos);
        }
    }
}
