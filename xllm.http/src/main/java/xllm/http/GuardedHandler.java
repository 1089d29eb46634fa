package xllm.http;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import xllm.api.InferenceService;
import xllm.api.ServiceException;
import xllm.http.response.ErrorResponse;

/**
 * Wraps an endpoint with what every route shares: the API key check, the readiness check, and the
 * turning of any failure into an OpenAI-shaped JSON error, so that no request can take the server down or
 * get an HTML error page. Runs on the request's virtual thread.
 */
final class GuardedHandler implements Handler {
    private static final System.Logger LOG = System.getLogger(GuardedHandler.class.getName());

    /** An endpoint that may throw {@link ServiceException} to refuse a request. */
    interface Endpoint {
        void handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    private final Endpoint endpoint;
    /** SHA-256 of the expected header: compared digest to digest, the check takes the same time whatever was sent. */
    private final byte[] expectedAuthorization;
    private final InferenceService readiness;

    /**
     * @param apiKey null for an open route
     * @param readiness the service whose readiness the route needs, or null when it needs none
     */
    GuardedHandler(Endpoint endpoint, String apiKey, InferenceService readiness) {
        this.endpoint = endpoint;
        this.expectedAuthorization = apiKey == null ? null : sha256("Bearer " + apiKey);
        this.readiness = readiness;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        try {
            if (expectedAuthorization != null && !authorized(req)) {
                throw new ServiceException(ServiceException.Kind.UNAUTHORIZED,
                        "missing or wrong API key: send the header 'Authorization: Bearer <key>'", null);
            }
            if (readiness != null && !readiness.ready()) {
                throw new ServiceException(ServiceException.Kind.UNAVAILABLE, readiness.notReadyReason(), null);
            }
            endpoint.handle(req, res);
        } catch (ServiceException e) {
            fail(res, e.kind().status(), e.kind().type(), e.getMessage(), e.param(), null);
        } catch (CloseConnectionException e) {
            // the connection broke or was closed (a request past its deadline): there is no one to answer
            throw e;
        } catch (Exception e) {
            LOG.log(System.Logger.Level.ERROR, "request " + req.prologue() + " failed", e);
            fail(res, 500, "InternalServerError", "internal error: " + e, null, e);
        }
    }

    private boolean authorized(ServerRequest req) {
        String given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        return MessageDigest.isEqual(expectedAuthorization, sha256(given));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static void fail(ServerResponse res, int status, String type, String message, String param, Throwable cause) {
        if (res.isSent()) {
            LOG.log(System.Logger.Level.DEBUG, () -> "cannot report after the response was sent: " + message);
            return;
        }
        try {
            ErrorResponse.send(res, status, type, message, param);
        } catch (RuntimeException e) {
            if (cause != null) {
                e.addSuppressed(cause);
            }
            LOG.log(System.Logger.Level.DEBUG, "cannot report an error to a response already streaming", e);
        }
    }
}
