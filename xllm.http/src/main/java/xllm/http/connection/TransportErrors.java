package xllm.http.connection;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import xllm.http.ConnectionLimits;
import xllm.http.response.ErrorResponse;
import xllm.http.response.Json;

/**
 * The answers Helidon gives before a request reaches a route (a malformed, oversized or refused request), in the
 * API's own shape: an OpenAI-style JSON error with the status the problem calls for, {@code 431} for headers over
 * {@link ConnectionLimits#MAX_HEADER_BYTES} and {@code 414} for a request line over
 * {@link ConnectionLimits#MAX_REQUEST_LINE_BYTES}. Runs on the connection's thread.
 */
public final class TransportErrors implements DirectHandler {
    /** Helidon's message when the headers outgrow their limit, which it answers 400. */
    private static final String HEADERS_TOO_LARGE = "Header size exceeded";
    private static final Status HEADERS_TOO_LARGE_431 = Status.create(431, "Request Header Fields Too Large");

    @Override
    public TransportResponse handle(TransportRequest request, EventType type, Status status, ServerResponseHeaders headers,
                                    String message) {
        Status answer = status;
        String text = message == null || message.isBlank() ? status.reasonPhrase() : message;
        if (status.code() == Status.BAD_REQUEST_400.code() && HEADERS_TOO_LARGE.equals(message)) {
            answer = HEADERS_TOO_LARGE_431;
            text = "the request headers exceed " + ConnectionLimits.MAX_HEADER_BYTES + " bytes";
        } else if (status.code() == Status.REQUEST_URI_TOO_LONG_414.code()) {
            text = "the request line exceeds " + ConnectionLimits.MAX_REQUEST_LINE_BYTES + " bytes";
        } else if (status.code() == Status.SERVICE_UNAVAILABLE_503.code()) {
            text = "the server has as many connections open as it takes (--max-connections); retry later";
        }
        byte[] body = Json.bytes(ErrorResponse.body(answer.code(), typeOf(answer.code()), text, null));
        return TransportResponse.builder()
                .status(answer)
                .headers(headers)
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .keepAlive(false)
                .entity(body)
                .build();
    }

    private static String typeOf(int code) {
        if (code == 503) {
            return "ServiceUnavailableError";
        }
        return code >= 500 ? "InternalServerError" : "BadRequestError";
    }
}
