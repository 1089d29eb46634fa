package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;

/** JSON Schema's view of instance values: equality where 1 and 1.0 are the same number, and instance types. */
final class JsonValues {
    private JsonValues() {
    }

    /** True when {@code a} and {@code b} are the same JSON value; object member order does not matter. */
    static boolean equal(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (Map.Entry<String, JsonNode> e : a.properties()) {
                JsonNode other = b.get(e.getKey());
                if (other == null || !equal(e.getValue(), other)) {
                    return false;
                }
            }
            return true;
        }
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                return false;
            }
            Iterator<JsonNode> i = a.iterator();
            Iterator<JsonNode> j = b.iterator();
            while (i.hasNext()) {
                if (!equal(i.next(), j.next())) {
                    return false;
                }
            }
            return true;
        }
        return a.getNodeType() == b.getNodeType() && a.equals(b);
    }

    /** The instance type of {@code value}: "integer" for a number without fraction, else "number" for numbers. */
    static String typeOf(JsonNode value) {
        if (value.isNumber()) {
            return value.decimalValue().stripTrailingZeros().scale() <= 0 ? "integer" : "number";
        }
        if (value.isTextual()) {
            return "string";
        }
        if (value.isBoolean()) {
            return "boolean";
        }
        if (value.isNull()) {
            return "null";
        }
        return value.isArray() ? "array" : "object";
    }
}
