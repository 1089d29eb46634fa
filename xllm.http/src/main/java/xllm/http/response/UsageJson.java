package xllm.http.response;

import com.fasterxml.jackson.databind.node.ObjectNode;
import xllm.api.Usage;

/** The OpenAI {@code usage} object. */
public final class UsageJson {
    private UsageJson() {
    }

    public static ObjectNode of(Usage usage) {
        ObjectNode node = Json.object();
        node.put("prompt_tokens", usage.promptTokens());
        node.put("total_tokens", usage.totalTokens());
        node.put("completion_tokens", usage.completionTokens());
        if (usage.cachedPromptTokens() > 0) {
            node.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedPromptTokens());
        }
        return node;
    }
}
