package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.EnumSet;

/** The kinds of JSON instance a schema's {@code type} chooses among; "number" is INTEGER and FRACTION. */
enum JsonType {
    NULL, BOOLEAN, INTEGER, FRACTION, STRING, ARRAY, OBJECT;

    /** The instance types {@code schema}'s {@code type} keyword allows; all when it has none. */
    static EnumSet<JsonType> allowedBy(JsonNode schema) {
        JsonNode type = schema.get("type");
        if (type == null) {
            return EnumSet.allOf(JsonType.class);
        }
        EnumSet<JsonType> types = EnumSet.noneOf(JsonType.class);
        if (type.isArray()) {
            type.forEach(t -> types.addAll(named(t.asText())));
        } else {
            types.addAll(named(type.asText()));
        }
        return types;
    }

    static EnumSet<JsonType> named(String name) {
        return switch (name) {
            case "null" -> EnumSet.of(NULL);
            case "boolean" -> EnumSet.of(BOOLEAN);
            case "integer" -> EnumSet.of(INTEGER);
            case "number" -> EnumSet.of(INTEGER, FRACTION);
            case "string" -> EnumSet.of(STRING);
            case "array" -> EnumSet.of(ARRAY);
            case "object" -> EnumSet.of(OBJECT);
            default -> throw new GrammarException("unknown JSON Schema type '" + name + "'");
        };
    }

    static JsonType of(JsonNode value) {
        String name = JsonValues.typeOf(value);
        return name.equals("number") ? FRACTION : named(name).iterator().next();
    }
}
