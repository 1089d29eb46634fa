package xllm.http.request;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.OptionalLong;
import xllm.api.ServiceException;
import xllm.http.connection.RequestDeadlines;
import xllm.http.response.Json;

/**
 * Reads a request's JSON body, refusing one over the size limit before it is buffered, and tells the request's
 * deadline once the body is in (a body that does not arrive in time closes the connection). Thread-safe.
 */
public final class BodyReader {
    private final long maxBytes;
    private final RequestDeadlines deadlines;

    public BodyReader(long maxBytes, RequestDeadlines deadlines) {
        this.maxBytes = maxBytes;
        this.deadlines = deadlines;
    }

    public RequestFields read(ServerRequest req) throws IOException {
        return parse(readBytes(req));
    }

    /** The raw body, refused with 413 beyond the limit. */
    public byte[] readBytes(ServerRequest req) throws IOException {
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBytes) {
            throw tooLarge(declared.getAsLong() + " bytes", maxBytes);
        }
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        }
        deadlines.bodyRead();
        if (bytes.length > maxBytes) {
            throw tooLarge("over " + maxBytes + " bytes", maxBytes);
        }
        return bytes;
    }

    private static RequestFields parse(byte[] bytes) throws IOException {
        JsonNode tree;
        try {
            tree = Json.MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                    "the request body is not valid JSON: " + e.getOriginalMessage(), null);
        }
        return new RequestFields(tree);
    }

    private static ServiceException tooLarge(String size, long maxBytes) {
        return new ServiceException(ServiceException.Kind.TOO_LARGE,
                "the request body is " + size + "; the limit is " + maxBytes + " bytes", null);
    }
}
