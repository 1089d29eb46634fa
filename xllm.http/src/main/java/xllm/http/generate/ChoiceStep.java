package xllm.http.generate;

import xllm.api.FinishReason;

/**
 * What one choice produced since its last step.
 *
 * @param text newly visible text (may be empty while text is held back or a character is incomplete)
 * @param fromToken first token of this step, an index into the choice's {@link TokenLog}
 * @param toToken one past the last token of this step
 * @param finish why the choice ended, or null while it goes on
 */
public record ChoiceStep(Choice choice, String text, int fromToken, int toToken, FinishReason finish) {
}
