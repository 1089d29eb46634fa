package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Map;
import java.util.Set;

/**
 * The JSON Schema keywords the converter knows: those it enforces, those that only annotate, and the check that
 * refuses every other keyword by name, so that no constraint is ever dropped silently.
 */
final class SchemaKeywords {
    /**
     * Keywords that do not constrain an instance. OpenAPI's {@code discriminator} (which Pydantic writes beside
     * {@code oneOf}) only names the property that tells alternatives apart; the alternatives themselves constrain.
     */
    static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$defs",
            "definitions", "discriminator",
            "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly");
    /** Meta-schemas whose vocabularies mean what this converter enforces; another may switch validation off. */
    private static final Set<String> KNOWN_DIALECTS = Set.of("https://json-schema.org/draft/2020-12/schema",
            "http://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2019-09/schema",
            "http://json-schema.org/draft/2019-09/schema", "http://json-schema.org/draft-07/schema",
            "https://json-schema.org/draft-07/schema", "http://json-schema.org/draft-06/schema",
            "https://json-schema.org/draft-06/schema");
    static final Set<String> APPLICATORS = Set.of("$ref", "allOf", "anyOf", "oneOf");
    static final Set<String> TYPES = Set.of("null", "boolean", "integer", "number", "string", "array", "object");
    private static final Set<String> ENFORCED = Set.of("type", "enum", "const", "properties", "required",
            "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "pattern",
            "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "$ref", "allOf", "anyOf", "oneOf");

    private SchemaKeywords() {
    }

    /** Refuses a keyword the converter does not enforce and a keyword whose value has the wrong form. */
    static void check(JsonNode schema) {
        for (Map.Entry<String, JsonNode> e : schema.properties()) {
            String key = e.getKey();
            JsonNode value = e.getValue();
            if (key.equals("$schema") && !KNOWN_DIALECTS.contains(value.asText().replaceAll("#$", ""))) {
                throw new UnsupportedFeature("$schema", "$schema '" + value.asText() + "' is not a JSON Schema"
                        + " dialect the converter knows (2020-12, 2019-09, draft-07, draft-06)");
            }
            if (ANNOTATIONS.contains(key)) {
                continue;
            }
            if (key.equals("uniqueItems") && value.isBoolean() && !value.asBoolean()) {
                continue;
            }
            if (!ENFORCED.contains(key)) {
                throw new UnsupportedFeature(key, "JSON Schema keyword '" + key + "' is not supported");
            }
            checkForm(key, value);
        }
    }

    private static void checkForm(String key, JsonNode value) {
        switch (key) {
            case "type" -> {
                boolean ok = value.isTextual() && TYPES.contains(value.asText()) || value.isArray();
                if (value.isArray()) {
                    for (JsonNode t : value) {
                        ok &= t.isTextual() && TYPES.contains(t.asText());
                    }
                }
                require(ok, key, "a type name or an array of them (null, boolean, integer, number, string, array, object)");
            }
            case "enum" -> require(value.isArray(), key, "an array");
            case "properties" -> {
                require(value.isObject(), key, "an object whose values are schemas");
                value.forEach(s -> require(isSchema(s), key, "an object whose values are schemas"));
            }
            case "required" -> {
                require(value.isArray(), key, "an array of strings");
                value.forEach(s -> require(s.isTextual(), key, "an array of strings"));
            }
            case "additionalProperties", "items" -> require(isSchema(value), key, "a schema");
            case "prefixItems", "allOf", "anyOf", "oneOf" -> {
                require(value.isArray() && !value.isEmpty(), key, "a non-empty array of schemas");
                value.forEach(s -> require(isSchema(s), key, "a non-empty array of schemas"));
            }
            case "minItems", "maxItems", "minLength", "maxLength" -> count(key, value);
            case "pattern", "format", "$ref" -> require(value.isTextual(), key, "a string");
            case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum" -> require(value.isNumber(), key, "a number");
            default -> {
            }
        }
    }

    static boolean isSchema(JsonNode node) {
        return node.isObject() || node.isBoolean();
    }

    /** The value of a count keyword ({@code minItems: 2}, also {@code 2.0}). */
    static long count(String key, JsonNode value) {
        require(value.isNumber(), key, "a non-negative integer");
        BigDecimal n = value.decimalValue().stripTrailingZeros();
        require(n.signum() >= 0 && n.scale() <= 0, key, "a non-negative integer");
        return n.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0 ? Integer.MAX_VALUE : n.longValueExact();
    }

    /** True when {@code schema} holds a keyword that constrains an instance. */
    static boolean constrains(JsonNode schema) {
        if (schema.isBoolean()) {
            return !schema.asBoolean();
        }
        for (Map.Entry<String, JsonNode> e : schema.properties()) {
            if (!ANNOTATIONS.contains(e.getKey()) && !e.getKey().equals("uniqueItems")) {
                return true;
            }
        }
        return false;
    }

    private static void require(boolean ok, String key, String form) {
        if (!ok) {
            throw new GrammarException("JSON Schema keyword '" + key + "' must be " + form);
        }
    }
}
