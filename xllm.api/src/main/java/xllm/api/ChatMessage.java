package xllm.api;

import java.util.Objects;

/** One turn of a chat conversation, as the OpenAI API and chat templates see it. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
    }
}
