package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code oneOf} as the {@code anyOf} it equals when no instance can match two of its alternatives. A grammar can
 * only take the union, so disjointness must be proved: different types, different const/enum values, or a
 * required property whose const/enum values differ. Anything else is refused.
 */
final class OneOfBranches {
    /** What an alternative allows, as far as disjointness needs to know. */
    private record Summary(EnumSet<JsonType> types, List<JsonNode> values, Map<String, List<JsonNode>> tags) {
    }

    private final SchemaMerge merge;

    OneOfBranches(SchemaMerge merge) {
        this.merge = merge;
    }

    /** A schema equal to {@code oneOf} over {@code branches}. */
    JsonNode asAnyOf(JsonNode branches) {
        List<JsonNode> live = new ArrayList<>();
        int everything = 0;
        for (JsonNode branch : branches) {
            if (branch.isBoolean() && !branch.asBoolean()) {
                continue;
            }
            live.add(branch);
            everything += SchemaKeywords.constrains(branch) ? 0 : 1;
        }
        if (live.isEmpty() || everything >= 2) {
            return BooleanNode.FALSE; // nothing matches, or everything matches two alternatives
        }
        if (live.size() == 1) {
            return live.getFirst();
        }
        List<Summary> summaries = live.stream().map(this::summary).toList();
        for (int i = 0; i < live.size(); i++) {
            for (int j = i + 1; j < live.size(); j++) {
                if (!disjoint(summaries.get(i), summaries.get(j))) {
                    throw new UnsupportedFeature("oneOf", "oneOf is only supported when no instance can match two of"
                            + " its alternatives (different types, different const/enum values, or a required property"
                            + " with different const/enum values); alternatives " + i + " and " + j + " may overlap");
                }
            }
        }
        ObjectNode anyOf = JsonNodeFactory.instance.objectNode();
        live.forEach(anyOf.putArray("anyOf")::add);
        return anyOf;
    }

    private Summary summary(JsonNode branch) {
        JsonNode flat = merge.flatten(branch);
        if (flat.isBoolean()) {
            return new Summary(flat.asBoolean() ? EnumSet.allOf(JsonType.class) : EnumSet.noneOf(JsonType.class),
                    flat.asBoolean() ? null : List.of(), Map.of());
        }
        EnumSet<JsonType> types = JsonType.allowedBy(flat);
        List<JsonNode> values = SchemaMerge.values(flat);
        if (values != null) {
            EnumSet<JsonType> valueTypes = EnumSet.noneOf(JsonType.class);
            values.forEach(v -> valueTypes.add(JsonType.of(v)));
            types.retainAll(valueTypes);
        }
        if (flat.has("anyOf")) {
            EnumSet<JsonType> union = EnumSet.noneOf(JsonType.class);
            for (JsonNode alternative : flat.get("anyOf")) {
                union.addAll(summary(alternative).types);
            }
            types.retainAll(union);
        }
        Map<String, List<JsonNode>> tags = new HashMap<>();
        for (JsonNode name : flat.path("required")) {
            JsonNode property = flat.path("properties").get(name.asText());
            if (property != null) {
                List<JsonNode> tagValues = SchemaMerge.values(merge.flatten(property));
                if (tagValues != null) {
                    tags.put(name.asText(), tagValues);
                }
            }
        }
        return new Summary(types, values, tags);
    }

    private static boolean disjoint(Summary a, Summary b) {
        EnumSet<JsonType> common = EnumSet.copyOf(a.types);
        common.retainAll(b.types);
        if (common.isEmpty()) {
            return true;
        }
        if (a.values != null && b.values != null && noneEqual(a.values, b.values)) {
            return true;
        }
        if (common.equals(EnumSet.of(JsonType.OBJECT))) {
            for (Map.Entry<String, List<JsonNode>> tag : a.tags.entrySet()) {
                List<JsonNode> other = b.tags.get(tag.getKey());
                if (other != null && noneEqual(tag.getValue(), other)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean noneEqual(List<JsonNode> xs, List<JsonNode> ys) {
        return xs.stream().noneMatch(x -> ys.stream().anyMatch(y -> JsonValues.equal(x, y)));
    }
}
