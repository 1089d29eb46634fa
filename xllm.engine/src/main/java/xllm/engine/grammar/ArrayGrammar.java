package xllm.engine.grammar;

import java.util.List;

/** JSON arrays whose first elements follow {@code prefixItems}, the rest one {@code items} grammar, in count limits. */
final class ArrayGrammar {
    private ArrayGrammar() {
    }

    /**
     * Arrays of {@code min} to {@code max} (-1: any) elements: element i matches {@code prefix.get(i)}, those after
     * the prefix match {@code rest} ({@link GbnfExpr#NEVER}: none allowed).
     */
    static GbnfExpr arrays(JsonText json, List<GbnfExpr> prefix, GbnfExpr rest, long min, long max) {
        long limit = rest.isNever() ? prefix.size() : -1;
        for (int i = 0; i < prefix.size(); i++) {
            if (prefix.get(i).isNever()) {
                limit = i;
                break;
            }
        }
        if (limit >= 0 && (max < 0 || limit < max)) {
            max = limit;
        }
        if (max >= 0 && min > max) {
            return GbnfExpr.NEVER;
        }
        if (max == 0) {
            return GbnfExpr.lit("[]");
        }
        // Built from the back: after(i) is what may follow the first i elements, each after a comma.
        int n = prefix.size();
        int restFrom = Math.max(n, 1);
        GbnfExpr after = max >= 0 && max <= restFrom ? GbnfExpr.EMPTY
                : GbnfExpr.repeat(GbnfExpr.seq(json.comma(), rest), (int) Math.max(0, min - restFrom),
                        max < 0 ? -1 : (int) (max - restFrom));
        for (int i = n - 1; i >= 1; i--) {
            if (max >= 0 && i >= max) {
                continue;
            }
            GbnfExpr next = GbnfExpr.seq(json.comma(), prefix.get(i), after);
            after = i >= min ? GbnfExpr.opt(next) : next;
        }
        GbnfExpr first = n > 0 ? prefix.getFirst() : rest;
        GbnfExpr elements = GbnfExpr.seq(first, after);
        return GbnfExpr.seq(GbnfExpr.lit("["), min == 0 ? GbnfExpr.opt(elements) : elements, GbnfExpr.lit("]"));
    }
}
