package xllm.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Raw HTTP against the server, for what an SDK hides: statuses, error bodies, metrics, disconnects. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newHttpClient();

    private Http() {
    }

    record Response(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON (status " + status + "): " + body, e);
            }
        }
    }

    static Response post(URI uri, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    static Response get(URI uri, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    private static Response send(HttpRequest request) {
        try {
            HttpResponse<String> r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The value of the first sample of {@code metric} (name up to labels) in the server's /metrics. */
    static double metric(ServerProcess server, String metric) {
        return metric(server, metric, "");
    }

    /** The value of the first sample of {@code metric} whose labels include {@code label}, e.g. {@code finished_reason="stop"}. */
    static double metric(ServerProcess server, String metric, String label) {
        String text = get(server.uri("/metrics")).body();
        String labels = label.isEmpty() ? "(\\{[^}]*\\})?" : "\\{[^}]*" + Pattern.quote(label) + "[^}]*\\}";
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(metric) + labels + " ([0-9.eE+-]+)$").matcher(text);
        if (!m.find()) {
            throw new AssertionError("metric " + metric + (label.isEmpty() ? "" : "{" + label + "}") + " not in /metrics:\n" + text);
        }
        return Double.parseDouble(m.group(m.groupCount()));
    }
}
