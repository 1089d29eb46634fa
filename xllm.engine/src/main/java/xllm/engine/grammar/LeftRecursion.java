package xllm.engine.grammar;

/**
 * Refuses left-recursive grammars (a rule that can reach itself without consuming a byte), which a
 * top-down automaton would expand forever.
 */
final class LeftRecursion {
    private LeftRecursion() {
    }

    static void check(Grammar g) {
        int rules = g.alternatives.length;
        boolean[] nullable = nullable(g);
        int[] mark = new int[rules]; // 0 unvisited, 1 on the path, 2 done
        for (int r = 0; r < rules; r++) {
            visit(g, r, nullable, mark);
        }
    }

    private static void visit(Grammar g, int rule, boolean[] nullable, int[] mark) {
        if (mark[rule] == 2) {
            return;
        }
        if (mark[rule] == 1) {
            throw new GrammarException("rule '" + g.ruleNames[rule] + "' is left-recursive");
        }
        mark[rule] = 1;
        for (int start : g.alternatives[rule]) {
            for (int pos = start; g.code[pos] != Grammar.END; pos++) {
                int element = g.code[pos];
                if (!Grammar.isRule(element)) {
                    break;
                }
                int target = Grammar.ruleOf(element);
                visit(g, target, nullable, mark);
                if (!nullable[target]) {
                    break;
                }
            }
        }
        mark[rule] = 2;
    }

    /** Which rules can match the empty string. */
    static boolean[] nullable(Grammar g) {
        boolean[] nullable = new boolean[g.alternatives.length];
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < nullable.length; r++) {
                if (nullable[r]) {
                    continue;
                }
                for (int start : g.alternatives[r]) {
                    int pos = start;
                    while (g.code[pos] != Grammar.END && Grammar.isRule(g.code[pos])
                            && nullable[Grammar.ruleOf(g.code[pos])]) {
                        pos++;
                    }
                    if (g.code[pos] == Grammar.END) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        return nullable;
    }
}
