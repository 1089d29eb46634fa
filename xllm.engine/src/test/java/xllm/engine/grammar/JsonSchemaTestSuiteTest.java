package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import xllm.engine.TestData;

/**
 * The official JSON Schema Test Suite (draft 2020-12) against the grammars: for every group whose schema
 * compiles, each instance, written as the grammar writes JSON, is accepted exactly when the suite says it is
 * valid. Groups refused as unsupported are counted, and must be the ones listed in {@link #REFUSED}.
 */
class JsonSchemaTestSuiteTest {
    private static final Path SUITE = TestData.fixture("json-schema-test-suite");

    /** The keywords the converter is meant to enforce; their files must have no failures. */
    private static final List<String> COVERED = List.of("type", "properties", "required", "additionalProperties",
            "items", "prefixItems", "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "ref", "defs",
            "pattern", "format", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "boolean_schema");

    /** Groups of the covered files that are refused, and the feature each is refused for. */
    private static final Map<String, String> REFUSED = Map.ofEntries(
            Map.entry("properties: properties, patternProperties, additionalProperties interaction", "patternProperties"),
            Map.entry("additionalProperties: additionalProperties being false does not allow other properties", "patternProperties"),
            Map.entry("additionalProperties: non-ASCII pattern with additionalProperties", "patternProperties"),
            Map.entry("additionalProperties: additionalProperties with propertyNames", "propertyNames"),
            Map.entry("additionalProperties: dependentSchemas with additionalProperties", "dependentSchemas"),
            Map.entry("allOf: allOf combined with anyOf, oneOf", "multipleOf"),
            Map.entry("oneOf: oneOf", "oneOf"),
            Map.entry("oneOf: oneOf with base schema", "oneOf"),
            Map.entry("oneOf: oneOf complex types", "oneOf"),
            Map.entry("oneOf: oneOf with empty schema", "oneOf"),
            Map.entry("oneOf: oneOf with required", "oneOf"),
            Map.entry("oneOf: oneOf with missing optional property", "oneOf"),
            Map.entry("defs: validate definition against metaschema", "$ref"),
            Map.entry("ref: remote ref, containing refs itself", "$ref"),
            Map.entry("ref: ref creates new scope when adjacent to keywords", "unevaluatedProperties"),
            Map.entry("ref: ref to if", "if"),
            Map.entry("ref: ref to then", "then"),
            Map.entry("ref: ref to else", "else"),
            Map.entry("format: idn-email format", "format"),
            Map.entry("format: regex format", "format"),
            Map.entry("format: idn-hostname format", "format"));

    private record FileResult(String file, int compiled, int refused, int passed, int failed) {
    }

    @Test
    void everyCompiledGroupAcceptsExactlyTheValidInstances() throws IOException {
        List<String> failures = new ArrayList<>();
        Map<String, String> refusals = new TreeMap<>();
        List<FileResult> results = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> list = Files.list(SUITE)) {
            files = list.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path file : files) {
            String name = file.getFileName().toString().replace(".json", "");
            results.add(runFile(name, JsonSchemaGrammar.MAPPER.readTree(file.toFile()), failures, refusals));
        }
        printTable(results, refusals);
        assertTrue(failures.isEmpty(), failures.size() + " cases fail:\n" + String.join("\n", failures));
        Map<String, String> coveredRefusals = new TreeMap<>();
        refusals.forEach((group, feature) -> {
            if (COVERED.contains(group.substring(0, group.indexOf(':')))) {
                coveredRefusals.put(group, feature);
            }
        });
        Map<String, String> unexpected = new TreeMap<>(coveredRefusals);
        REFUSED.forEach(unexpected::remove);
        Map<String, String> nowCompiled = new TreeMap<>(REFUSED);
        coveredRefusals.keySet().forEach(nowCompiled::remove);
        assertEquals(new TreeMap<>(REFUSED), coveredRefusals, "the covered files' refused groups changed; refused now: "
                + unexpected + "; no longer refused: " + nowCompiled);
    }

    private static FileResult runFile(String file, JsonNode groups, List<String> failures, Map<String, String> refusals) {
        int compiled = 0;
        int refused = 0;
        int passed = 0;
        int failed = 0;
        for (JsonNode group : groups) {
            String groupName = file + ": " + group.get("description").asText();
            JsonNode schema = group.get("schema");
            Grammar grammar;
            try {
                grammar = Grammar.parse(JsonSchemaGrammar.toGbnf(schema.toString()));
            } catch (UnsupportedFeature e) {
                refused++;
                refusals.put(groupName, e.feature());
                continue;
            } catch (NoValidInstance e) {
                grammar = null; // every instance must be invalid
            } catch (GrammarException e) {
                failures.add(groupName + ": the schema is refused as wrong: " + e.getMessage());
                failed += group.get("tests").size();
                continue;
            }
            compiled++;
            List<List<String>> orders = InstanceWriter.keyOrders(schema);
            for (JsonNode test : group.get("tests")) {
                JsonNode data = test.get("data");
                boolean valid = test.get("valid").asBoolean();
                if (file.equals("format") && test.get("description").asText().contains("only an annotation")) {
                    valid = false; // the grammar asserts formats, where the suite's default only annotates
                }
                Set<String> texts = new LinkedHashSet<>();
                for (List<String> order : orders) {
                    texts.add(InstanceWriter.write(data, order));
                }
                boolean accepted = false;
                for (String text : texts) {
                    accepted |= grammar != null && grammar.accepts(text);
                }
                if (accepted == valid) {
                    passed++;
                } else {
                    failed++;
                    failures.add(groupName + " / " + test.get("description").asText() + ": " + texts
                            + (valid ? " rejected, but is valid" : " accepted, but is invalid"));
                }
            }
        }
        return new FileResult(file, compiled, refused, passed, failed);
    }

    private static void printTable(List<FileResult> results, Map<String, String> refusals) {
        StringBuilder out = new StringBuilder("\nJSON Schema Test Suite (draft 2020-12)\n");
        out.append(String.format("%-24s %8s %8s %8s %8s%n", "file", "compiled", "refused", "passed", "failed"));
        int[] totals = new int[4];
        for (FileResult r : results) {
            out.append(String.format("%-24s %8d %8d %8d %8d%s%n", r.file, r.compiled, r.refused, r.passed, r.failed,
                    COVERED.contains(r.file) ? "" : "  (not covered)"));
            totals[0] += r.compiled;
            totals[1] += r.refused;
            totals[2] += r.passed;
            totals[3] += r.failed;
        }
        out.append(String.format("%-24s %8d %8d %8d %8d%n", "total", totals[0], totals[1], totals[2], totals[3]));
        Map<String, Integer> byFeature = new TreeMap<>();
        refusals.values().forEach(f -> byFeature.merge(f, 1, Integer::sum));
        out.append("refused groups by feature: ").append(byFeature).append('\n');
        System.out.print(out);
    }

    /** Writes instances as the grammars write JSON, with object members in a given order of names first. */
    static final class InstanceWriter {
        private InstanceWriter() {
        }

        /**
         * The member orders to try: the names as the schema declares them (its properties, and the members of
         * its const and enum objects, in document order), and the instance's own order.
         */
        static List<List<String>> keyOrders(JsonNode schema) {
            Set<String> names = new LinkedHashSet<>();
            collectNames(schema, names);
            return List.of(new ArrayList<>(names), List.of());
        }

        private static void collectNames(JsonNode node, Set<String> names) {
            if (node.isObject()) {
                JsonNode properties = node.get("properties");
                if (properties != null && properties.isObject()) {
                    properties.fieldNames().forEachRemaining(names::add);
                }
                for (String valueKey : List.of("const", "enum")) {
                    if (node.has(valueKey)) {
                        collectValueNames(node.get(valueKey), names);
                    }
                }
                node.properties().forEach(e -> {
                    if (!e.getKey().equals("const") && !e.getKey().equals("enum")) {
                        collectNames(e.getValue(), names);
                    }
                });
            } else if (node.isArray()) {
                node.forEach(n -> collectNames(n, names));
            }
        }

        private static void collectValueNames(JsonNode value, Set<String> names) {
            if (value.isObject()) {
                value.fieldNames().forEachRemaining(names::add);
            }
            if (value.isContainerNode()) {
                value.forEach(v -> collectValueNames(v, names));
            }
        }

        /** {@code value} as compact JSON with the members named in {@code order} first, in that order. */
        static String write(JsonNode value, List<String> order) {
            if (value.isObject()) {
                Map<String, JsonNode> members = new LinkedHashMap<>();
                for (String name : order) {
                    if (value.has(name)) {
                        members.put(name, value.get(name));
                    }
                }
                value.properties().forEach(e -> members.putIfAbsent(e.getKey(), e.getValue()));
                StringBuilder out = new StringBuilder("{");
                members.forEach((name, v) -> out.append(out.length() > 1 ? "," : "")
                        .append('"').append(JsonText.escape(name)).append("\":").append(write(v, order)));
                return out.append('}').toString();
            }
            if (value.isArray()) {
                StringBuilder out = new StringBuilder("[");
                value.forEach(v -> out.append(out.length() > 1 ? "," : "").append(write(v, order)));
                return out.append(']').toString();
            }
            if (value.isTextual()) {
                return '"' + JsonText.escape(value.textValue()) + '"';
            }
            if (value.isNumber()) {
                return JsonText.number(value.decimalValue());
            }
            return value.toString();
        }
    }
}
