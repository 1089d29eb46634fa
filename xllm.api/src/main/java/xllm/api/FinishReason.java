package xllm.api;

/** Why a generation ended, spelled as the OpenAI API spells it. */
public enum FinishReason {
    /** An end-of-sequence or stop token (or stop string) was produced. */
    STOP("stop"),
    /** The max_tokens limit or the model's context length was reached. */
    LENGTH("length"),
    /** The client went away or the request was cancelled. */
    ABORT("abort");

    private final String wireName;

    FinishReason(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }
}
