package xllm.engine.grammar;

import java.util.Arrays;

/**
 * The tokens a grammar allows in each of its states, over one vocabulary: a walk of the vocabulary trie
 * through the grammar's automaton, pruning every subtree whose prefix the grammar rejects. A state's mask is
 * kept once computed, so a state met again (the inside of a string, the gap after a comma) costs a lookup.
 * Not thread-safe: owned by one engine loop.
 */
public final class TokenMasks {
    /**
     * Masks kept per grammar: beyond this many bytes they are dropped and recomputed as needed (8 MiB holds
     * 430 masks over a 151k vocabulary, 8,000 over an 8k one; an engine keeps at most
     * {@link ConstraintCache#CAPACITY} grammars).
     */
    static final long CACHE_BYTES = 8L << 20;

    private final GrammarAutomaton automaton;
    private final VocabularyTrie trie;
    private final int words;
    private long[][] cached = new long[64][];
    /** By state, when its mask is kept: whether the mask is empty. */
    private boolean[] empty = new boolean[64];
    private long cachedBytes;
    private final int[] stateAtDepth;

    public TokenMasks(Grammar grammar, VocabularyTrie trie) {
        this.automaton = new GrammarAutomaton(grammar);
        this.trie = trie;
        this.words = (trie.vocabSize + 63) >>> 6;
        this.stateAtDepth = new int[trie.maxDepth + 1];
    }

    public GrammarAutomaton automaton() {
        return automaton;
    }

    public VocabularyTrie vocabulary() {
        return trie;
    }

    /** The tokens allowed in {@code state}: bit t of word t/64. Shared: callers must not modify it. */
    public long[] allowed(int state) {
        if (state < cached.length && cached[state] != null) {
            return cached[state];
        }
        long[] mask = new long[words];
        compute(state, mask);
        if (cachedBytes + mask.length * 8L > CACHE_BYTES) {
            Arrays.fill(cached, null);
            cachedBytes = 0;
        }
        if (state >= cached.length) {
            int n = Math.max(state + 1, cached.length * 2);
            cached = Arrays.copyOf(cached, n);
            empty = Arrays.copyOf(empty, n);
        }
        cached[state] = mask;
        empty[state] = isEmpty(mask);
        cachedBytes += mask.length * 8L;
        return mask;
    }

    /** Whether {@code state} allows no token at all: the grammar wants bytes no token begins with. */
    public boolean noneAllowed(int state) {
        allowed(state);
        return empty[state];
    }

    private static boolean isEmpty(long[] mask) {
        for (long word : mask) {
            if (word != 0) {
                return false;
            }
        }
        return true;
    }

    /** Computes the mask of {@code state} into {@code mask} (cleared first), without caching it. */
    public void compute(int state, long[] mask) {
        Arrays.fill(mask, 0L);
        int[] nodeByte = trie.nodeByte;
        int[] nodeDepth = trie.nodeDepth;
        int[] nodeSkip = trie.nodeSkip;
        int[] nodeToken = trie.nodeToken;
        int[] states = stateAtDepth;
        states[0] = state;
        int nodes = nodeByte.length;
        int n = 1;
        while (n < nodes) {
            int depth = nodeDepth[n];
            int next = automaton.next(states[depth - 1], nodeByte[n]);
            if (next == GrammarAutomaton.DEAD) {
                n = nodeSkip[n];
                continue;
            }
            states[depth] = next;
            int token = nodeToken[n];
            if (token >= 0) {
                mask[token >>> 6] |= 1L << token;
            } else if (token < -1) {
                allowTwins(-2 - token, n, mask);
            }
            n++;
        }
        if (automaton.accepting(state)) {
            for (int eos : trie.eosIds) {
                if (eos >= 0 && eos < trie.vocabSize) {
                    mask[eos >>> 6] |= 1L << eos;
                }
            }
        }
    }

    /** Allows the tokens that share the bytes of node {@code n}, listed from {@code first}. */
    private void allowTwins(int first, int n, long[] mask) {
        for (int i = first, end = trie.nodeFirstToken[n + 1]; i < end; i++) {
            int token = trie.tokens[i];
            mask[token >>> 6] |= 1L << token;
        }
    }

    /** The state after {@code token} in {@code state}, or {@link GrammarAutomaton#DEAD}. */
    public int next(int state, byte[] tokenBytes) {
        int s = state;
        for (int i = 0; i < tokenBytes.length && s != GrammarAutomaton.DEAD; i++) {
            s = automaton.next(s, tokenBytes[i] & 0xFF);
        }
        return s;
    }
}
