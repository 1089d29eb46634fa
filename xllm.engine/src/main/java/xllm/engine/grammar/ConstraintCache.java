package xllm.engine.grammar;

import java.util.LinkedHashMap;
import java.util.Map;
import xllm.api.StructuredOutput;

/**
 * One engine's compiled constraints over its vocabulary, most recently used kept: requests with the same
 * schema share an automaton and its masks. Not thread-safe: owned by the engine loop.
 */
public final class ConstraintCache {
    static final int CAPACITY = 64;

    private final VocabularyTrie vocabulary;
    private final Map<StructuredOutput, TokenMasks> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<StructuredOutput, TokenMasks> eldest) {
            return size() > CAPACITY;
        }
    };

    public ConstraintCache(VocabularyTrie vocabulary) {
        this.vocabulary = vocabulary;
    }

    /** A matcher at the start of {@code constraint}; throws {@link GrammarException} when it cannot compile. */
    public GrammarMatcher matcher(StructuredOutput constraint) {
        TokenMasks m = masks.get(constraint);
        if (m == null) {
            m = new TokenMasks(Constraints.compile(constraint), vocabulary);
            masks.put(constraint, m);
        }
        return new GrammarMatcher(m);
    }
}
