package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSON Schema document and the schemas its {@code $ref}s can reach: JSON pointers ({@code #/$defs/x}),
 * embedded {@code $id}s and {@code $anchor}s, resolved against the base URI in effect where the reference sits.
 * References to other documents are refused.
 */
final class SchemaDocument {
    /** The base of a document without {@code $id}; any hierarchical URI serves. */
    private static final URI DEFAULT_BASE = URI.create("urn-xllm:/schema.json");
    private static final List<String> SINGLE_SUBSCHEMAS = List.of("items", "additionalProperties", "contains",
            "propertyNames", "not", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema");
    private static final List<String> SUBSCHEMA_LISTS = List.of("prefixItems", "allOf", "anyOf", "oneOf");
    private static final List<String> SUBSCHEMA_MAPS = List.of("$defs", "definitions", "properties",
            "patternProperties", "dependentSchemas");

    final JsonNode root;
    private final Map<String, JsonNode> byUri = new HashMap<>();
    private final Map<JsonNode, URI> baseOf = new IdentityHashMap<>();

    SchemaDocument(JsonNode root) {
        this.root = root;
        index(root, DEFAULT_BASE);
    }

    private void index(JsonNode schema, URI base) {
        if (!schema.isObject()) {
            return;
        }
        JsonNode id = schema.get("$id");
        if (id != null && id.isTextual()) {
            base = resolve(base, id.asText());
            base = withoutFragment(base);
            byUri.put(base.toString(), schema);
        }
        if (schema == root) {
            byUri.put(base.toString(), schema);
        }
        baseOf.put(schema, base);
        // A plain $ref reaches a $dynamicAnchor as it reaches an $anchor.
        for (String key : List.of("$anchor", "$dynamicAnchor")) {
            JsonNode anchor = schema.get(key);
            if (anchor != null && anchor.isTextual()) {
                byUri.put(base + "#" + anchor.asText(), schema);
            }
        }
        for (String key : SINGLE_SUBSCHEMAS) {
            if (schema.has(key)) {
                index(schema.get(key), base);
            }
        }
        for (String key : SUBSCHEMA_LISTS) {
            if (schema.path(key).isArray()) {
                for (JsonNode sub : schema.get(key)) {
                    index(sub, base);
                }
            }
        }
        for (String key : SUBSCHEMA_MAPS) {
            if (schema.path(key).isObject()) {
                for (Map.Entry<String, JsonNode> e : schema.get(key).properties()) {
                    index(e.getValue(), base);
                }
            }
        }
    }

    /** The schema {@code ref} names, written in {@code from}. */
    JsonNode resolve(JsonNode from, String ref) {
        int hash = ref.indexOf('#');
        String documentRef = hash < 0 ? ref : ref.substring(0, hash);
        String fragment = hash < 0 ? "" : ref.substring(hash + 1);
        URI base = baseOf.getOrDefault(from, baseOf.get(root));
        String document = (documentRef.isEmpty() ? base : withoutFragment(resolve(base, documentRef))).toString();
        JsonNode doc = byUri.get(document);
        if (doc == null) {
            throw new UnsupportedFeature("$ref", "$ref '" + ref + "' refers to another document (" + document
                    + "); only references within the schema are supported");
        }
        if (fragment.isEmpty()) {
            return doc;
        }
        String decoded = URLDecoder.decode(fragment.replace("+", "%2B"), StandardCharsets.UTF_8);
        if (!decoded.startsWith("/")) {
            JsonNode anchored = byUri.get(document + "#" + decoded);
            if (anchored == null) {
                throw new GrammarException("$ref '" + ref + "': no schema has $anchor '" + decoded + "'");
            }
            return anchored;
        }
        JsonNode node = doc;
        for (String token : decoded.substring(1).split("/", -1)) {
            String key = token.replace("~1", "/").replace("~0", "~");
            node = node.isArray() && key.matches("0|[1-9][0-9]*") ? node.path(Integer.parseInt(key)) : node.path(key);
            if (node.isMissingNode()) {
                throw new GrammarException("$ref '" + ref + "' does not resolve: the schema has nothing at " + decoded);
            }
        }
        return node;
    }

    private static URI resolve(URI base, String reference) {
        try {
            URI ref = new URI(reference);
            if ("urn".equalsIgnoreCase(ref.getScheme()) || ref.isOpaque()) {
                return ref;
            }
            if (base.isOpaque()) {
                if (ref.getScheme() == null && ref.getRawSchemeSpecificPart().isEmpty()) {
                    return new URI(base.getScheme(), base.getSchemeSpecificPart(), ref.getFragment());
                }
                if (ref.getScheme() == null) {
                    throw new UnsupportedFeature("$ref", "'" + reference + "' is relative to the non-hierarchical base " + base);
                }
            }
            return base.resolve(ref);
        } catch (URISyntaxException e) {
            throw new GrammarException("'" + reference + "' is not a valid URI reference: " + e.getMessage());
        }
    }

    private static URI withoutFragment(URI uri) {
        try {
            return new URI(uri.getScheme(), uri.getSchemeSpecificPart(), null);
        } catch (URISyntaxException e) {
            throw new GrammarException("'" + uri + "' is not a valid URI: " + e.getMessage());
        }
    }
}
