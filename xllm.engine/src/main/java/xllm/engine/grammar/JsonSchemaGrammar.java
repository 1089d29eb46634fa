package xllm.engine.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON Schema (draft 2020-12) as GBNF: every sentence of the grammar is a JSON text valid under the schema,
 * written compactly (at most one space after {@code ,} and {@code :}) with object properties in the schema's
 * order. Keywords the grammar cannot enforce are refused with {@link UnsupportedFeature}, never ignored.
 * One instance compiles one document; it is not thread-safe.
 */
public final class JsonSchemaGrammar {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final Set<String> VALUE_KEYWORDS = Set.of("type", "enum", "const");
    private static final JsonNode OBJECT = JsonNodeFactory.instance.objectNode().put("type", "object");

    private final SchemaDocument document;
    private final SchemaMerge merge;
    private final JsonText json;
    private final StringGrammar strings;
    private final ObjectGrammar objects;
    private final Map<JsonNode, GbnfExpr> references = new IdentityHashMap<>();
    private final Set<String> inProgress = new HashSet<>();
    private final Set<String> reachedInProgress = new HashSet<>();

    JsonSchemaGrammar(JsonNode root, JsonText json) {
        this(new SchemaDocument(root), json);
    }

    private JsonSchemaGrammar(SchemaDocument document, JsonText json) {
        this.document = document;
        this.merge = new SchemaMerge(document);
        this.json = json;
        this.strings = new StringGrammar(json);
        this.objects = new ObjectGrammar(json);
    }

    /** The grammar of the JSON texts valid under the schema {@code schemaJson}. */
    public static String toGbnf(String schemaJson) {
        GbnfRules rules = new GbnfRules();
        GbnfExpr start = new JsonSchemaGrammar(parse(schemaJson, "JSON Schema"), new JsonText(rules)).root();
        return rules.gbnf(start);
    }

    /** The JSON value {@code text}, or a {@link GrammarException} saying that {@code what} is not JSON. */
    static JsonNode parse(String text, String what) {
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw new GrammarException(what + " is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new GrammarException(what + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** The grammar of the document's root schema; refused when no instance is valid. */
    GbnfExpr root() {
        GbnfExpr start = compile(document.root);
        if (start.isNever()) {
            throw new NoValidInstance("the JSON Schema accepts no value at all (for example an empty enum or false)");
        }
        return start;
    }

    /** The grammar of the JSON objects valid under the document's root schema, which describes {@code what}. */
    GbnfExpr objectRoot(String what) {
        if (!SchemaKeywords.isSchema(document.root)) {
            throw new GrammarException("the JSON Schema of " + what + " must be an object or a boolean, not " + document.root);
        }
        GbnfExpr start = compile(merge.merge(document.root, OBJECT));
        if (start.isNever()) {
            throw new NoValidInstance("the JSON Schema of " + what + " accepts no JSON object");
        }
        return start;
    }

    private GbnfExpr compile(JsonNode schema) {
        if (schema.isBoolean()) {
            return schema.asBoolean() ? json.value() : GbnfExpr.NEVER;
        }
        if (!schema.isObject()) {
            throw new GrammarException("a JSON Schema must be an object or a boolean, not " + schema);
        }
        SchemaKeywords.check(schema);
        if (schema.has("$ref") && onlyReference(schema)) {
            return reference(schema);
        }
        if (SchemaMerge.needsFlattening(schema)) {
            return compile(merge.flatten(schema));
        }
        if (schema.has("anyOf")) {
            return alternatives(schema);
        }
        return typed(schema);
    }

    private static boolean onlyReference(JsonNode schema) {
        for (String key : (Iterable<String>) schema::fieldNames) {
            if (!key.equals("$ref") && !SchemaKeywords.ANNOTATIONS.contains(key)) {
                return false;
            }
        }
        return true;
    }

    /** A rule per schema a {@code $ref} reaches, so that recursive schemas become recursive rules. */
    private GbnfExpr reference(JsonNode schema) {
        JsonNode target = merge.resolve(schema);
        if (target.isBoolean()) {
            return compile(target);
        }
        GbnfExpr known = references.get(target);
        if (known != null) {
            if (known instanceof GbnfExpr.RuleRef r && inProgress.contains(r.name())) {
                reachedInProgress.add(r.name());
            }
            return known;
        }
        String ref = schema.get("$ref").asText();
        String name = json.rules.fresh(ref.substring(Math.max(ref.lastIndexOf('/'), ref.lastIndexOf('#')) + 1));
        references.put(target, GbnfExpr.ref(name));
        inProgress.add(name);
        GbnfExpr body = compile(target);
        inProgress.remove(name);
        if (body.isNever()) {
            if (reachedInProgress.contains(name)) {
                throw new GrammarException("the recursive schema at $ref '" + ref + "' accepts no value");
            }
            references.put(target, GbnfExpr.NEVER);
            return GbnfExpr.NEVER;
        }
        if (body.equals(GbnfExpr.ref(name))) {
            throw new GrammarException("$ref '" + ref + "' refers to itself without any schema in between");
        }
        json.rules.define(name, body);
        return GbnfExpr.ref(name);
    }

    private GbnfExpr alternatives(JsonNode schema) {
        ObjectNode rest = JsonNodeFactory.instance.objectNode();
        schema.properties().forEach(e -> rest.set(e.getKey(), e.getValue()));
        rest.remove("anyOf");
        boolean constrained = SchemaKeywords.constrains(rest);
        List<GbnfExpr> options = new ArrayList<>();
        for (JsonNode alternative : schema.get("anyOf")) {
            options.add(compile(constrained ? merge.merge(rest, alternative) : alternative));
        }
        return GbnfExpr.alt(options);
    }

    /** A schema without applicators: one grammar per instance type it allows. */
    private GbnfExpr typed(JsonNode schema) {
        EnumSet<JsonType> types = JsonType.allowedBy(schema);
        List<JsonNode> values = SchemaMerge.values(schema);
        if (values != null) {
            return enumerated(schema, types, values);
        }
        if (types.size() == JsonType.values().length && !SchemaKeywords.constrains(schema)) {
            return json.value();
        }
        List<GbnfExpr> options = new ArrayList<>();
        if (types.contains(JsonType.OBJECT)) {
            options.add(objects(schema));
        }
        if (types.contains(JsonType.ARRAY)) {
            options.add(arrays(schema));
        }
        if (types.contains(JsonType.STRING)) {
            options.add(strings.strings(schema));
        }
        if (types.contains(JsonType.FRACTION) || types.contains(JsonType.INTEGER)) {
            options.add(numbers(schema, !types.contains(JsonType.FRACTION)));
        }
        if (types.contains(JsonType.BOOLEAN)) {
            options.add(GbnfExpr.alt(GbnfExpr.lit("true"), GbnfExpr.lit("false")));
        }
        if (types.contains(JsonType.NULL)) {
            options.add(GbnfExpr.lit("null"));
        }
        return GbnfExpr.alt(options);
    }

    private GbnfExpr enumerated(JsonNode schema, EnumSet<JsonType> types, List<JsonNode> values) {
        List<JsonNode> kept = values.stream().filter(v -> types.contains(JsonType.of(v))).toList();
        ObjectNode rest = JsonNodeFactory.instance.objectNode();
        schema.properties().forEach(e -> {
            if (!VALUE_KEYWORDS.contains(e.getKey())) {
                rest.set(e.getKey(), e.getValue());
            }
        });
        if (!kept.isEmpty() && SchemaKeywords.constrains(rest)) {
            kept = allowedBy(rest, kept);
        }
        return GbnfExpr.alt(kept.stream().map(json::exactly).toList());
    }

    /**
     * The values whose JSON text the grammar of {@code schema} accepts. Every sentence of that grammar is valid
     * under {@code schema}, so every value kept is; a value the grammar writes differently is left out.
     */
    private List<JsonNode> allowedBy(JsonNode schema, List<JsonNode> values) {
        GbnfRules rules = new GbnfRules();
        GbnfExpr grammar = new JsonSchemaGrammar(document, new JsonText(rules)).compile(schema);
        if (grammar.isNever()) {
            return List.of();
        }
        Grammar check = Grammar.parse(rules.gbnf(grammar));
        return values.stream().filter(v -> check.accepts(JsonText.write(v))).toList();
    }

    private GbnfExpr numbers(JsonNode schema, boolean integersOnly) {
        Bound lower = Bound.of(schema, "minimum", "exclusiveMinimum", true);
        Bound upper = Bound.of(schema, "maximum", "exclusiveMaximum", false);
        if (lower == null && upper == null) {
            return integersOnly ? json.integer() : json.number();
        }
        if (integersOnly) {
            BigInteger lo = lower == null ? null : lower.exclusive
                    ? lower.value.setScale(0, RoundingMode.FLOOR).toBigIntegerExact().add(BigInteger.ONE)
                    : lower.value.setScale(0, RoundingMode.CEILING).toBigIntegerExact();
            BigInteger hi = upper == null ? null : upper.exclusive
                    ? upper.value.setScale(0, RoundingMode.CEILING).toBigIntegerExact().subtract(BigInteger.ONE)
                    : upper.value.setScale(0, RoundingMode.FLOOR).toBigIntegerExact();
            return NumberRanges.integers(lo, hi);
        }
        return NumberRanges.decimals(lower == null ? null : lower.value, lower != null && lower.exclusive,
                upper == null ? null : upper.value, upper != null && upper.exclusive);
    }

    /** The tighter of a schema's inclusive and exclusive bound on one side. */
    private record Bound(BigDecimal value, boolean exclusive) {
        static Bound of(JsonNode schema, String inclusiveKey, String exclusiveKey, boolean lower) {
            Bound inclusive = schema.has(inclusiveKey) ? new Bound(schema.get(inclusiveKey).decimalValue(), false) : null;
            Bound exclusive = schema.has(exclusiveKey) ? new Bound(schema.get(exclusiveKey).decimalValue(), true) : null;
            if (inclusive == null || exclusive == null) {
                return inclusive == null ? exclusive : inclusive;
            }
            int c = inclusive.value.compareTo(exclusive.value);
            return c == 0 ? exclusive : (c > 0) == lower ? inclusive : exclusive;
        }
    }

    private GbnfExpr arrays(JsonNode schema) {
        if (!schema.has("prefixItems") && !schema.has("items") && !schema.has("minItems") && !schema.has("maxItems")) {
            return json.array();
        }
        List<GbnfExpr> prefix = new ArrayList<>();
        schema.path("prefixItems").forEach(item -> prefix.add(compile(item)));
        GbnfExpr rest = schema.has("items") ? compile(schema.get("items")) : json.value();
        long min = schema.has("minItems") ? SchemaKeywords.count("minItems", schema.get("minItems")) : 0;
        long max = schema.has("maxItems") ? SchemaKeywords.count("maxItems", schema.get("maxItems")) : -1;
        return ArrayGrammar.arrays(json, prefix, rest, min, max);
    }

    private GbnfExpr objects(JsonNode schema) {
        JsonNode additional = schema.has("additionalProperties") ? schema.get("additionalProperties") : null;
        if (!schema.has("properties") && !schema.has("required")
                && (additional == null || !SchemaKeywords.constrains(additional))) {
            return json.object();
        }
        Set<String> required = new LinkedHashSet<>();
        schema.path("required").forEach(r -> required.add(r.asText()));
        Set<String> declared = new LinkedHashSet<>();
        List<ObjectGrammar.Member> members = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : schema.path("properties").properties()) {
            declared.add(e.getKey());
            members.add(new ObjectGrammar.Member(e.getKey(), required.contains(e.getKey()), compile(e.getValue())));
        }
        GbnfExpr additionalValue = additional == null ? json.value() : compile(additional);
        for (String name : required) {
            if (declared.add(name)) {
                members.add(new ObjectGrammar.Member(name, true, additionalValue));
            }
        }
        return objects.objects(members, declared, additionalValue);
    }
}
