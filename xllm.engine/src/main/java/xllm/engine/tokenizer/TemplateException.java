package xllm.engine.tokenizer;

/**
 * Thrown by the {@code raise_exception(msg)} function HF chat templates call to reject a
 * conversation (e.g. "roles must alternate"); Jinjava records it as a template error, from which
 * {@link ChatTemplate} recovers the message. Stateless.
 */
final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private TemplateException(String message) {
        super(message);
    }

    /** Bound as the template function {@code raise_exception}; public because Jinjava calls it reflectively. */
    public static String raise(String message) {
        throw new TemplateException(message);
    }

    /** The message of a raise_exception call somewhere in {@code t}'s cause chain, or null. */
    static String messageIn(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof TemplateException e) {
                return e.getMessage();
            }
        }
        return null;
    }
}
