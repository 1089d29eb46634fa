package xllm.engine.grammar;

import java.util.LinkedHashMap;
import java.util.Map;
import xllm.api.StructuredOutput;

/**
 * One engine's compiled constraints over its vocabulary, most recently used kept: requests with the same
 * schema share an automaton and its masks. Not thread-safe: owned by the engine loop.
 */
public final class ConstraintCache {
    static final int CAPACITY = 32;
    /**
     * An automaton past this many states (a grammar whose states do not recur, such as long counted
     * repetitions) is left to the sequences using it, and later requests start a fresh one: memory stays
     * bounded by what live sequences touch.
     */
    static final int MAX_STATES = 100_000;

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
        if (m == null || m.automaton().stateCount() > MAX_STATES) {
            m = new TokenMasks(Constraints.compile(constraint), vocabulary);
            masks.put(constraint, m);
        }
        return new GrammarMatcher(m);
    }
}
