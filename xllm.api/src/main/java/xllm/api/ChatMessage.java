package xllm.api;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a chat conversation, as the OpenAI API and chat templates see it.
 *
 * @param content the text; empty for none (an assistant turn that only calls tools)
 * @param toolCalls the functions an assistant turn called; empty for other turns
 * @param toolCallId for a {@code tool} turn, the call it answers; null otherwise
 * @param name an optional name of the participant (for a {@code tool} turn, the function); null for none
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String name) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A turn of plain text. */
    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null, null);
    }
}
