package xllm.api;

/**
 * A {@link SamplingParams} value out of its range. {@link #parameter()} names it as an OpenAI request does
 * ({@code top_p}, {@code max_tokens}, ...), so that a server can say which field of a request was wrong.
 */
public final class InvalidSamplingParameter extends IllegalArgumentException {
    private final String parameter;

    public InvalidSamplingParameter(String parameter, String message) {
        super(message);
        this.parameter = parameter;
    }

    /** The parameter's name in an OpenAI request, e.g. {@code "temperature"}. */
    public String parameter() {
        return parameter;
    }
}
