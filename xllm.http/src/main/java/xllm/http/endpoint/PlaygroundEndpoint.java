package xllm.http.endpoint;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import xllm.api.ServiceException;

/**
 * {@code GET /} and {@code GET /static/{file}}: the browser playground (chat and dashboard), three plain
 * files kept in this module's resources under {@code xllm/http/playground/}. That directory is a package of
 * this module, so no other module can read it; this class reads it as the module's own. Open without the API
 * key: the page asks for the key itself and sends it on its API calls. Everything the page loads comes from
 * this server, which the Content-Security-Policy holds it to.
 */
public final class PlaygroundEndpoint {
    private static final String DIRECTORY = "/xllm/http/playground/";
    /** One plain name with a known extension: no directories, no dots but the extension's, so no traversal. */
    private static final Pattern FILE_NAME = Pattern.compile("[a-z0-9][a-z0-9-]*\\.([a-z]+)");
    private static final Map<String, String> CONTENT_TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8");
    private static final HeaderName SECURITY_POLICY = HeaderNames.create("Content-Security-Policy");
    private static final HeaderName REFERRER_POLICY = HeaderNames.create("Referrer-Policy");
    private static final String POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public void page(ServerRequest req, ServerResponse res) throws IOException {
        send(res, "index.html");
    }

    public void file(ServerRequest req, ServerResponse res) throws IOException {
        send(res, req.path().pathParameters().get("file"));
    }

    private static void send(ServerResponse res, String name) throws IOException {
        Matcher matcher = FILE_NAME.matcher(name);
        String type = matcher.matches() ? CONTENT_TYPES.get(matcher.group(1)) : null;
        byte[] body = type == null ? null : read(name);
        if (body == null) {
            throw new ServiceException(ServiceException.Kind.NOT_FOUND, "no playground file " + name, null);
        }
        res.header(HeaderNames.CONTENT_TYPE, type);
        // Small files that change with the server: revalidate rather than keep a stale page after an upgrade.
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header(HeaderNames.X_CONTENT_TYPE_OPTIONS, "nosniff");
        res.header(SECURITY_POLICY, POLICY);
        res.header(REFERRER_POLICY, "no-referrer");
        res.send(body);
    }

    /** The file's bytes, or null when the module has no such file. */
    private static byte[] read(String name) throws IOException {
        try (InputStream in = PlaygroundEndpoint.class.getResourceAsStream(DIRECTORY + name)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
