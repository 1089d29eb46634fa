package xllm.api;

/** A request the service refuses, with the HTTP status an API layer should answer and the field at fault. */
public final class ServiceException extends RuntimeException {
    /** The kinds of refusal, each with its HTTP status and OpenAI error type. */
    public enum Kind {
        INVALID_REQUEST(400, "BadRequestError"),
        UNAUTHORIZED(401, "AuthenticationError"),
        NOT_FOUND(404, "NotFoundError"),
        TOO_LARGE(413, "BadRequestError"),
        OVERLOADED(429, "RateLimitError"),
        UNAVAILABLE(503, "ServiceUnavailableError");

        private final int status;
        private final String type;

        Kind(int status, String type) {
            this.status = status;
            this.type = type;
        }

        public int status() { return status; }
        public String type() { return type; }
    }

    private final Kind kind;
    private final String param;

    public ServiceException(Kind kind, String message, String param) {
        super(message);
        this.kind = kind;
        this.param = param;
    }

    public Kind kind() {
        return kind;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }
}
