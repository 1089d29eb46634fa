package xllm.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * How an engine speculates, as vLLM's {@code --speculative-config} JSON spells it. The suffix keys are taken
 * with or without vLLM's {@code suffix_decoding_} prefix.
 *
 * @param numSpeculativeTokens most drafts verified per sequence and step (K)
 * @param promptLookupMin shortest n-gram the {@code ngram} method matches
 * @param promptLookupMax longest n-gram the {@code ngram} method matches (tried first)
 * @param draftModel directory of the {@code draft} method's model, else null
 * @param maxTreeDepth {@code suffix}: longest suffix matched and longest draft
 * @param maxCachedRequests {@code suffix}: earlier requests whose outputs the global tree keeps
 * @param maxSpecFactor {@code suffix}: a draft is at most this many times the matched length
 * @param minTokenProb {@code suffix}: drafting stops at a token whose estimated probability is below this
 * @param disableByBatchSize no speculation while more sequences than this decode at once (0: never)
 */
public record SpeculativeConfig(SpeculativeMethod method, int numSpeculativeTokens, int promptLookupMin,
                                int promptLookupMax, Path draftModel, int maxTreeDepth, int maxCachedRequests,
                                float maxSpecFactor, float minTokenProb, int disableByBatchSize) {
    private static final Set<String> KEYS = Set.of("method", "num_speculative_tokens", "prompt_lookup_min",
            "prompt_lookup_max", "model", "max_tree_depth", "max_cached_requests", "max_spec_factor", "min_token_prob",
            "disable_by_batch_size");

    public SpeculativeConfig {
        check(numSpeculativeTokens >= 1 && numSpeculativeTokens <= 64, "num_speculative_tokens must be in [1, 64], got "
                + numSpeculativeTokens);
        check(promptLookupMin >= 1 && promptLookupMax >= promptLookupMin,
                "prompt_lookup_min and prompt_lookup_max must satisfy 1 <= min <= max, got " + promptLookupMin + " and "
                        + promptLookupMax);
        check(maxTreeDepth >= 1, "max_tree_depth must be at least 1, got " + maxTreeDepth);
        check(maxCachedRequests >= 0, "max_cached_requests must be >= 0, got " + maxCachedRequests);
        check(maxSpecFactor > 0 && Float.isFinite(maxSpecFactor), "max_spec_factor must be > 0, got " + maxSpecFactor);
        check(minTokenProb >= 0 && minTokenProb <= 1, "min_token_prob must be in [0, 1], got " + minTokenProb);
        check(disableByBatchSize >= 0, "disable_by_batch_size must be >= 0, got " + disableByBatchSize);
        check(method != SpeculativeMethod.DRAFT || draftModel != null, "the draft method needs \"model\": the draft model's directory");
    }

    /**
     * Parses vLLM's JSON spelling, e.g. {@code {"method":"suffix","num_speculative_tokens":8}}.
     *
     * @throws IllegalArgumentException naming the first key or value that is wrong
     */
    public static SpeculativeConfig parse(String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("speculative config is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("speculative config must be a JSON object, got " + json);
        }
        Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
        while (fields.hasNext()) {
            String key = unprefixed(fields.next().getKey());
            check(KEYS.contains(key), "unknown speculative config key '" + key + "' (known: " + String.join(", ",
                    new java.util.TreeSet<>(KEYS)) + ")");
        }
        JsonNode methodNode = field(root, "method");
        check(methodNode != null && methodNode.isTextual(), "speculative config needs \"method\": ngram, suffix, draft or mtp");
        SpeculativeMethod method = SpeculativeMethod.parse(methodNode.asText());
        int maxTreeDepth = intField(root, "max_tree_depth", 24);
        int defaultK = switch (method) {
            case SUFFIX -> maxTreeDepth;
            case MTP -> 1;
            default -> 4;
        };
        int lookupMax = intField(root, "prompt_lookup_max", 5);
        int lookupMin = intField(root, "prompt_lookup_min", Math.min(2, lookupMax));
        JsonNode model = field(root, "model");
        check(model == null || model.isTextual(), "\"model\" must be a directory path string");
        return new SpeculativeConfig(method, intField(root, "num_speculative_tokens", defaultK), lookupMin, lookupMax,
                model == null ? null : Path.of(model.asText()), maxTreeDepth, intField(root, "max_cached_requests", 10000),
                floatField(root, "max_spec_factor", 1f), floatField(root, "min_token_prob", 0.1f),
                intField(root, "disable_by_batch_size", 0));
    }

    private static JsonNode field(JsonNode root, String key) {
        JsonNode n = root.get(key);
        return n != null ? n : root.get("suffix_decoding_" + key);
    }

    private static String unprefixed(String key) {
        return key.startsWith("suffix_decoding_") ? key.substring("suffix_decoding_".length()) : key;
    }

    private static int intField(JsonNode root, String key, int fallback) {
        JsonNode n = field(root, key);
        if (n == null || n.isNull()) {
            return fallback;
        }
        check(n.isIntegralNumber() && n.canConvertToInt(), "\"" + key + "\" must be an integer, got " + n);
        return n.intValue();
    }

    private static float floatField(JsonNode root, String key, float fallback) {
        JsonNode n = field(root, key);
        if (n == null || n.isNull()) {
            return fallback;
        }
        check(n.isNumber(), "\"" + key + "\" must be a number, got " + n);
        return n.floatValue();
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
