package xllm.api;

import java.util.Objects;

/**
 * A function call an assistant turn made, as the OpenAI API carries it.
 *
 * @param id the call's id, which the tool's answer names as {@code tool_call_id}
 * @param name the function called
 * @param arguments the call's arguments as JSON text (an object)
 */
public record ToolCall(String id, String name, String arguments) {
    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }
}
