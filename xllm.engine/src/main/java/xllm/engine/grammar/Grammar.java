package xllm.engine.grammar;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A context-free grammar over bytes, compiled: rules of alternatives, each a sequence of elements that match
 * one byte of a set or a whole rule. Any constraint (JSON Schema, regular expression, choice, GBNF) becomes
 * one of these; {@link GrammarAutomaton} runs it. Immutable and thread-safe.
 */
public final class Grammar {
    /** Ends every alternative in {@link #code}. */
    static final int END = -1;
    private static final int RULE_TAG = 1 << 29;

    /** Every alternative's elements followed by {@link #END}, rule after rule. */
    final int[] code;
    /** For each rule, where each of its alternatives starts in {@link #code}. */
    final int[][] alternatives;
    /** Four longs per byte set: bit b is set when the set holds byte b. */
    final long[] byteSets;
    final String[] ruleNames;
    final int root;

    Grammar(List<List<int[]>> rules, List<long[]> sets, List<String> names, int root) {
        int size = 0;
        for (List<int[]> rule : rules) {
            for (int[] alt : rule) {
                size += alt.length + 1;
            }
        }
        this.code = new int[size];
        this.alternatives = new int[rules.size()][];
        int at = 0;
        for (int r = 0; r < rules.size(); r++) {
            List<int[]> rule = rules.get(r);
            alternatives[r] = new int[rule.size()];
            for (int a = 0; a < rule.size(); a++) {
                alternatives[r][a] = at;
                int[] alt = rule.get(a);
                System.arraycopy(alt, 0, code, at, alt.length);
                at += alt.length;
                code[at++] = END;
            }
        }
        this.byteSets = new long[sets.size() * 4];
        for (int i = 0; i < sets.size(); i++) {
            System.arraycopy(sets.get(i), 0, byteSets, 4 * i, 4);
        }
        this.ruleNames = names.toArray(String[]::new);
        this.root = root;
        LeftRecursion.check(this);
    }

    /** Parses a grammar in GBNF (llama.cpp's syntax), starting at its rule {@code root}. */
    public static Grammar parse(String gbnf) {
        return new GbnfParser(gbnf).parse();
    }

    /** Whether {@code text}, as UTF-8, is a complete sentence of this grammar. */
    public boolean accepts(String text) {
        return accepts(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code bytes} are a complete sentence of this grammar. */
    public boolean accepts(byte[] bytes) {
        GrammarAutomaton automaton = new GrammarAutomaton(this);
        int state = automaton.start();
        for (byte b : bytes) {
            state = automaton.next(state, b & 0xFF);
            if (state == GrammarAutomaton.DEAD) {
                return false;
            }
        }
        return automaton.accepting(state);
    }

    /** Number of elements and rules: a measure of the compiled size. */
    public int size() {
        return code.length;
    }

    static int bytesElement(int set) {
        return set;
    }

    static int ruleElement(int rule) {
        return RULE_TAG | rule;
    }

    static boolean isRule(int element) {
        return element >= RULE_TAG;
    }

    static int ruleOf(int element) {
        return element & (RULE_TAG - 1);
    }

    boolean matches(int element, int b) {
        return (byteSets[4 * element + (b >>> 6)] >>> (b & 63) & 1) != 0;
    }
}
