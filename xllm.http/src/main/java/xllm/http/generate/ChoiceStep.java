package xllm.http.generate;

import java.util.List;
import xllm.api.FinishReason;
import xllm.http.tools.ToolCallDelta;

/**
 * What one choice produced since its last step.
 *
 * @param text newly visible text (may be empty while text is held back or a character is incomplete)
 * @param fromToken first token of this step, an index into the choice's {@link TokenLog}
 * @param toToken one past the last token of this step
 * @param finish why the choice ended, or null while it goes on
 * @param toolCalls what this step showed of tool calls, when the choice's output is read for them
 */
public record ChoiceStep(Choice choice, String text, int fromToken, int toToken, FinishReason finish,
        List<ToolCallDelta> toolCalls) {
    public ChoiceStep {
        toolCalls = List.copyOf(toolCalls);
    }
}
