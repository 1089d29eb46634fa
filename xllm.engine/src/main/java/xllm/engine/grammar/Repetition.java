package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/** Compiles {@code item{min,max}} into rules: the item {@code min} times, then nested optional repeats. */
final class Repetition {
    private Repetition() {
    }

    /** @param max -1 for no upper bound */
    static int[] of(GrammarBuilder builder, String base, int[] item, int min, int max) {
        int[] unit = item.length == 1 ? item : new int[] {GrammarBuilder.ref(builder.ruleOf(base, List.<int[]>of(item)))};
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < min; i++) {
            out.add(unit[0]);
        }
        if (max < 0) {
            // star ::= unit star | ""  (right recursion: no left recursion, one frame per repeat)
            int star = builder.fresh(base);
            builder.define(star, List.of(new int[] {unit[0], GrammarBuilder.ref(star)}, new int[0]));
            out.add(GrammarBuilder.ref(star));
        } else if (max > min) {
            // opt_k ::= unit opt_{k-1} | ""  so that at most max - min more repeats follow
            int optional = builder.ruleOf(base, List.of(new int[] {unit[0]}, new int[0]));
            for (int k = 2; k <= max - min; k++) {
                optional = builder.ruleOf(base, List.of(new int[] {unit[0], GrammarBuilder.ref(optional)}, new int[0]));
            }
            out.add(GrammarBuilder.ref(optional));
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
