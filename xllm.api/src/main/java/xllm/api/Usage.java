package xllm.api;

/** Token counts of a finished request, as the OpenAI usage object reports them. */
public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
