package xllm.http.request;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import xllm.api.ServiceException;

/**
 * Typed access to the fields of one JSON request body. Every refusal is a 400 that names the field in
 * its message and as {@code param}, so a client knows what to fix. Absent and {@code null} fields read
 * as the given fallback. Request thread only.
 */
public final class RequestFields {
    private final ObjectNode body;

    public RequestFields(JsonNode body) {
        if (!(body instanceof ObjectNode object)) {
            throw invalid(null, "the request body must be a JSON object");
        }
        this.body = object;
    }

    /** The body as received, for the request log. */
    public JsonNode json() {
        return body;
    }

    public static ServiceException invalid(String param, String message) {
        return new ServiceException(ServiceException.Kind.INVALID_REQUEST, message, param);
    }

    /** Refuses the request with {@code message} unless {@code condition} holds. */
    public static void require(boolean condition, String param, String message) {
        if (!condition) {
            throw invalid(param, message);
        }
    }

    public boolean has(String name) {
        return value(name) != null;
    }

    /** The raw value of a present, non-null field, else null. */
    public JsonNode value(String name) {
        JsonNode node = body.get(name);
        return node == null || node.isNull() ? null : node;
    }

    public String text(String name, String fallback) {
        JsonNode node = value(name);
        if (node == null) {
            return fallback;
        }
        require(node.isTextual(), name, name + " must be a string");
        return node.textValue();
    }

    public boolean bool(String name, boolean fallback) {
        JsonNode node = value(name);
        if (node == null) {
            return fallback;
        }
        require(node.isBoolean(), name, name + " must be true or false");
        return node.booleanValue();
    }

    public double number(String name, double fallback) {
        JsonNode node = value(name);
        if (node == null) {
            return fallback;
        }
        require(node.isNumber(), name, name + " must be a number");
        return node.doubleValue();
    }

    public long integer(String name, long fallback) {
        JsonNode node = value(name);
        return node == null ? fallback : integer(node, name);
    }

    /** An integer field within {@code [min, max]}. */
    public int integer(String name, int fallback, int min, int max) {
        if (!has(name)) {
            return fallback;
        }
        long value = integer(name, fallback);
        require(value >= min && value <= max, name,
                name + " must be " + range(min, max) + ", got " + value);
        return (int) value;
    }

    /** A string or a list of strings, as {@code stop} accepts. */
    public List<String> texts(String name) {
        JsonNode node = value(name);
        List<String> texts = new ArrayList<>();
        if (node == null) {
            return texts;
        }
        if (node.isTextual()) {
            texts.add(node.textValue());
            return texts;
        }
        require(node.isArray(), name, name + " must be a string or a list of strings");
        for (JsonNode item : node) {
            require(item.isTextual(), name, name + " must be a string or a list of strings");
            texts.add(item.textValue());
        }
        return texts;
    }

    public int[] integers(String name) {
        JsonNode node = value(name);
        if (node == null) {
            return new int[0];
        }
        require(node.isArray(), name, name + " must be a list of integers");
        return integers(node, name);
    }

    /** The items of a JSON array of integers that fit an int. */
    public static int[] integers(JsonNode array, String name) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            long value = integer(array.get(i), name);
            require(value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE, name,
                    name + " holds " + value + ", which is out of range");
            values[i] = (int) value;
        }
        return values;
    }

    private static long integer(JsonNode node, String name) {
        boolean integral = node.isIntegralNumber() && node.canConvertToLong()
                || node.isFloatingPointNumber() && node.doubleValue() == Math.rint(node.doubleValue())
                        && Math.abs(node.doubleValue()) < 0x1p62;
        require(integral, name, name + " must be an integer, got " + node);
        return node.longValue();
    }

    private static String range(int min, int max) {
        if (max == Integer.MAX_VALUE) {
            return "at least " + min;
        }
        return "an integer in [" + min + ", " + max + "]";
    }
}
