package xllm.http.tools;

import java.util.List;
import xllm.api.ToolCall;

/**
 * A finished output read for tool calls.
 *
 * @param content the text before the first call, or the whole text when it holds no well-formed calls; null
 *     when there is none
 * @param calls the calls in the order they were made
 */
public record ToolCallOutput(String content, List<ToolCall> calls) {
    public ToolCallOutput {
        calls = List.copyOf(calls);
    }
}
