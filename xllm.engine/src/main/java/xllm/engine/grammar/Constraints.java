package xllm.engine.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import xllm.api.StructuredOutput;

/**
 * Compiles a request's constraint to its grammar, by way of GBNF text. Compiled grammars are kept by
 * constraint, so a schema sent with every request is compiled once. Thread-safe.
 */
public final class Constraints {
    /** Grammars kept; past this the cache starts over (a cheap bound on memory, not an LRU). */
    static final int CACHE_SIZE = 256;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<StructuredOutput, Grammar> CACHE = new ConcurrentHashMap<>();

    private Constraints() {
    }

    /** The grammar of {@code constraint}; throws {@link GrammarException} naming what cannot be compiled. */
    public static Grammar compile(StructuredOutput constraint) {
        Grammar cached = CACHE.get(constraint);
        if (cached != null) {
            return cached;
        }
        Grammar grammar = Grammar.parse(gbnf(constraint));
        if (CACHE.size() >= CACHE_SIZE) {
            CACHE.clear();
        }
        CACHE.put(constraint, grammar);
        return grammar;
    }

    /** The GBNF text of {@code constraint}, uncached. */
    public static String gbnf(StructuredOutput constraint) {
        return switch (constraint.kind()) {
            case GRAMMAR -> constraint.spec();
            case CHOICE -> choice(constraint.spec());
            case JSON_SCHEMA -> JsonSchemaGrammar.toGbnf(constraint.spec());
            case REGEX -> RegexGrammar.toGbnf(constraint.spec());
            case TOOL_CALLS -> ToolCallGrammar.toGbnf(constraint.spec());
        };
    }

    /** {@code root ::= "first" | "second" | ...} for a JSON array of strings. */
    private static String choice(String spec) {
        JsonNode choices;
        try {
            choices = JSON.readTree(spec);
        } catch (JsonProcessingException e) {
            throw new GrammarException("choice must be a JSON array of strings: " + e.getOriginalMessage());
        }
        if (choices == null || !choices.isArray() || choices.isEmpty()) {
            throw new GrammarException("choice must be a non-empty array of strings");
        }
        List<GbnfExpr> options = new ArrayList<>();
        for (int i = 0; i < choices.size(); i++) {
            JsonNode c = choices.get(i);
            if (!c.isTextual()) {
                throw new GrammarException("choice must be an array of strings; item " + i + " is " + c.getNodeType());
            }
            options.add(GbnfExpr.lit(c.textValue()));
        }
        return new GbnfRules().gbnf(GbnfExpr.alt(options));
    }
}
