package xllm.http.request;

/**
 * A prompt ready for the engine.
 *
 * @param ids the token ids to submit
 * @param text the prompt as text, what {@code echo} repeats; empty for token ids when echo is off
 */
public record Prompt(int[] ids, String text) {
    public Prompt {
        ids = ids.clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    public int length() {
        return ids.length;
    }
}
