package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rewrites a schema whose applicators ({@code allOf}, a {@code $ref} beside other keywords, {@code oneOf}) must
 * all hold into one equivalent schema, keyword by keyword: types intersect, bounds tighten, each property's
 * schemas merge. What has no merged form (two different patterns) is refused.
 */
final class SchemaMerge {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final int MAX_DEPTH = 48;
    private static final int MAX_ALTERNATIVES = 64;
    private static final Set<String> OBJECT_KEYWORDS = Set.of("properties", "additionalProperties", "required");
    private static final Set<String> ARRAY_KEYWORDS = Set.of("prefixItems", "items");
    private static final Set<String> LOWER_BOUNDS = Set.of("minItems", "minLength", "minimum", "exclusiveMinimum");
    private static final Set<String> UPPER_BOUNDS = Set.of("maxItems", "maxLength", "maximum", "exclusiveMaximum");

    private final SchemaDocument document;
    private final OneOfBranches oneOf;
    private int depth;

    SchemaMerge(SchemaDocument document) {
        this.document = document;
        this.oneOf = new OneOfBranches(this);
    }

    /** True when {@code schema} has an applicator that {@link #flatten} removes. */
    static boolean needsFlattening(JsonNode schema) {
        return schema.isObject() && (schema.has("allOf") || schema.has("oneOf") || schema.has("$ref"));
    }

    /** An equivalent schema without {@code allOf}, {@code oneOf} and {@code $ref} at its top. */
    JsonNode flatten(JsonNode schema) {
        if (!needsFlattening(schema)) {
            return schema;
        }
        SchemaKeywords.check(schema);
        enter();
        try {
            ObjectNode base = NODES.objectNode();
            for (Map.Entry<String, JsonNode> e : schema.properties()) {
                if (!SchemaKeywords.APPLICATORS.contains(e.getKey()) || e.getKey().equals("anyOf")) {
                    base.set(e.getKey(), e.getValue());
                }
            }
            JsonNode result = base;
            if (schema.has("$ref")) {
                result = merge(result, resolve(schema));
            }
            if (schema.has("allOf")) {
                for (JsonNode part : schema.get("allOf")) {
                    result = merge(result, part);
                }
            }
            if (schema.has("oneOf")) {
                result = merge(result, oneOf.asAnyOf(schema.get("oneOf")));
            }
            return result;
        } finally {
            depth--;
        }
    }

    /** The schema {@code schema}'s {@code $ref} names. */
    JsonNode resolve(JsonNode schema) {
        return document.resolve(schema, schema.get("$ref").asText());
    }

    /** A schema that holds exactly when both {@code a} and {@code b} hold. */
    JsonNode merge(JsonNode a, JsonNode b) {
        if (isFalse(a) || isFalse(b)) {
            return BooleanNode.FALSE;
        }
        if (!SchemaKeywords.constrains(a) || a == b) {
            return b;
        }
        if (!SchemaKeywords.constrains(b)) {
            return a;
        }
        enter();
        try {
            a = flatten(a);
            b = flatten(b);
            if (isFalse(a) || isFalse(b)) {
                return BooleanNode.FALSE;
            }
            if (a == b || !SchemaKeywords.constrains(b)) {
                return a;
            }
            if (!SchemaKeywords.constrains(a)) {
                return b;
            }
            SchemaKeywords.check(a);
            SchemaKeywords.check(b);
            ObjectNode out = NODES.objectNode();
            mergeTypes(a, b, out);
            mergeValues(a, b, out);
            mergeObjects(a, b, out);
            mergeArrays(a, b, out);
            mergeScalars(a, b, out);
            mergeAlternatives(a, b, out);
            return out;
        } finally {
            depth--;
        }
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw new UnsupportedFeature("allOf", "the schemas that allOf (or $ref beside other keywords) combines"
                    + " nest too deeply to merge; they are probably recursive");
        }
    }

    private static boolean isFalse(JsonNode schema) {
        return schema.isBoolean() && !schema.asBoolean();
    }

    private static void mergeTypes(JsonNode a, JsonNode b, ObjectNode out) {
        if (!a.has("type") && !b.has("type")) {
            return;
        }
        EnumSet<JsonType> types = JsonType.allowedBy(a);
        types.retainAll(JsonType.allowedBy(b));
        ArrayNode names = out.putArray("type");
        if (types.contains(JsonType.FRACTION)) {
            names.add("number");
        } else if (types.contains(JsonType.INTEGER)) {
            names.add("integer");
        }
        for (JsonType t : types) {
            if (t != JsonType.INTEGER && t != JsonType.FRACTION) {
                names.add(t.name().toLowerCase());
            }
        }
    }

    /** {@code const} and {@code enum} become one {@code enum} of the values both allow. */
    private static void mergeValues(JsonNode a, JsonNode b, ObjectNode out) {
        List<JsonNode> va = values(a);
        List<JsonNode> vb = values(b);
        if (va == null && vb == null) {
            return;
        }
        ArrayNode kept = out.putArray("enum");
        for (JsonNode v : va == null ? vb : va) {
            if (va == null || vb == null || vb.stream().anyMatch(w -> JsonValues.equal(v, w))) {
                kept.add(v);
            }
        }
    }

    /** The values {@code schema}'s {@code const} and {@code enum} allow, or null when it has neither. */
    static List<JsonNode> values(JsonNode schema) {
        List<JsonNode> values = null;
        if (schema.has("enum")) {
            values = new ArrayList<>();
            schema.get("enum").forEach(values::add);
        }
        if (schema.has("const")) {
            JsonNode c = schema.get("const");
            values = values == null || values.stream().anyMatch(v -> JsonValues.equal(v, c)) ? List.of(c) : List.of();
        }
        return values;
    }

    private void mergeObjects(JsonNode a, JsonNode b, ObjectNode out) {
        if (OBJECT_KEYWORDS.stream().noneMatch(k -> a.has(k) || b.has(k))) {
            return;
        }
        Set<String> names = new LinkedHashSet<>();
        a.path("properties").fieldNames().forEachRemaining(names::add);
        b.path("properties").fieldNames().forEachRemaining(names::add);
        if (!names.isEmpty()) {
            ObjectNode properties = out.putObject("properties");
            for (String name : names) {
                properties.set(name, merge(propertySchema(a, name), propertySchema(b, name)));
            }
        }
        if (a.has("additionalProperties") || b.has("additionalProperties")) {
            out.set("additionalProperties", merge(a.path("additionalProperties").isMissingNode()
                    ? BooleanNode.TRUE : a.get("additionalProperties"),
                    b.path("additionalProperties").isMissingNode() ? BooleanNode.TRUE : b.get("additionalProperties")));
        }
        Set<String> required = new LinkedHashSet<>();
        a.path("required").forEach(r -> required.add(r.asText()));
        b.path("required").forEach(r -> required.add(r.asText()));
        if (!required.isEmpty()) {
            ArrayNode list = out.putArray("required");
            required.forEach(list::add);
        }
    }

    /** The schema {@code schema} applies to a property {@code name}. */
    private static JsonNode propertySchema(JsonNode schema, String name) {
        JsonNode declared = schema.path("properties").get(name);
        if (declared != null) {
            return declared;
        }
        JsonNode additional = schema.get("additionalProperties");
        return additional == null ? BooleanNode.TRUE : additional;
    }

    private void mergeArrays(JsonNode a, JsonNode b, ObjectNode out) {
        if (ARRAY_KEYWORDS.stream().noneMatch(k -> a.has(k) || b.has(k))) {
            return;
        }
        int n = Math.max(a.path("prefixItems").size(), b.path("prefixItems").size());
        if (n > 0) {
            ArrayNode prefix = out.putArray("prefixItems");
            for (int i = 0; i < n; i++) {
                prefix.add(merge(itemSchema(a, i), itemSchema(b, i)));
            }
        }
        if (a.has("items") || b.has("items")) {
            out.set("items", merge(a.has("items") ? a.get("items") : BooleanNode.TRUE,
                    b.has("items") ? b.get("items") : BooleanNode.TRUE));
        }
    }

    /** The schema {@code schema} applies to the array element at {@code index}. */
    private static JsonNode itemSchema(JsonNode schema, int index) {
        JsonNode prefix = schema.path("prefixItems");
        if (index < prefix.size()) {
            return prefix.get(index);
        }
        return schema.has("items") ? schema.get("items") : BooleanNode.TRUE;
    }

    private static void mergeScalars(JsonNode a, JsonNode b, ObjectNode out) {
        for (JsonNode side : List.of(a, b)) {
            for (Map.Entry<String, JsonNode> e : side.properties()) {
                String key = e.getKey();
                JsonNode value = e.getValue();
                JsonNode prior = out.get(key);
                if (LOWER_BOUNDS.contains(key) || UPPER_BOUNDS.contains(key)) {
                    if (prior == null || tighter(key, value, prior)) {
                        out.set(key, value);
                    }
                } else if (key.equals("pattern") || key.equals("format")) {
                    if (prior != null && !prior.equals(value)) {
                        throw new UnsupportedFeature("allOf", "allOf with two different '" + key + "' values ("
                                + prior + " and " + value + ") is not supported");
                    }
                    out.set(key, value);
                }
            }
        }
    }

    private static boolean tighter(String key, JsonNode value, JsonNode prior) {
        BigDecimal v = value.decimalValue();
        BigDecimal p = prior.decimalValue();
        return LOWER_BOUNDS.contains(key) ? v.compareTo(p) > 0 : v.compareTo(p) < 0;
    }

    /** Both sides' {@code anyOf}: one stays as it is; two become the merges of every pair of alternatives. */
    private void mergeAlternatives(JsonNode a, JsonNode b, ObjectNode out) {
        JsonNode x = a.get("anyOf");
        JsonNode y = b.get("anyOf");
        if (x == null || y == null) {
            if (x != null || y != null) {
                out.set("anyOf", x != null ? x : y);
            }
            return;
        }
        if (x.size() * y.size() > MAX_ALTERNATIVES) {
            throw new UnsupportedFeature("anyOf", "combining two anyOf lists of " + x.size() + " and " + y.size()
                    + " alternatives makes too many alternatives");
        }
        ArrayNode pairs = out.putArray("anyOf");
        for (JsonNode i : x) {
            for (JsonNode j : y) {
                pairs.add(merge(i, j));
            }
        }
    }
}
