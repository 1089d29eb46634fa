package xllm.engine.grammar;

/**
 * Where one sequence's output stands in its grammar: the tokens allowed next, and whether the output is a
 * complete sentence. Owned by the engine loop with the sequence.
 */
public final class GrammarMatcher {
    private final TokenMasks masks;
    private int state;

    public GrammarMatcher(TokenMasks masks) {
        this.masks = masks;
        this.state = masks.automaton().start();
    }

    /** The tokens allowed next, end of sequence among them once the output is complete. Read-only. */
    public long[] allowed() {
        return masks.allowed(state);
    }

    /** Whether no token may follow: the grammar wants bytes no token of the vocabulary begins with. */
    public boolean stuck() {
        return masks.noneAllowed(state);
    }

    /**
     * Moves past {@code token}; false (and no move) when the grammar does not allow it. An end-of-sequence token
     * is allowed only where the output is complete.
     */
    public boolean accept(int token) {
        VocabularyTrie vocabulary = masks.vocabulary();
        byte[] bytes = vocabulary.bytes(token);
        if (bytes == null) {
            return vocabulary.isEos(token) && complete();
        }
        int next = masks.next(state, bytes);
        if (next == GrammarAutomaton.DEAD) {
            return false;
        }
        state = next;
        return true;
    }

    /** The automaton state the output has reached: for measuring masks. */
    public int state() {
        return state;
    }

    /** Whether the output so far is a complete sentence. */
    public boolean complete() {
        return masks.automaton().accepting(state);
    }

    /** Whether the output is complete and nothing may follow: generation ends here. */
    public boolean finished() {
        return complete() && !masks.automaton().canContinue(state);
    }
}
