package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * ECMA-262 regular expressions as GBNF: {@link #toGbnf} for a whole output the pattern must match, and
 * {@link #search} for JSON Schema's {@code pattern}, which a string satisfies when the pattern matches
 * anywhere in it unless anchored with {@code ^} and {@code $}.
 */
public final class RegexGrammar {
    private RegexGrammar() {
    }

    /** A grammar whose sentences are exactly the strings {@code regex} matches in full; {@code ^ $} at the ends are redundant. */
    public static String toGbnf(String regex) {
        List<RegexParser.Branch> branches = RegexParser.parse(regex);
        GbnfExpr whole = GbnfExpr.alt(branches.stream().map(RegexParser.Branch::body).toList());
        if (whole.isNever()) {
            throw new GrammarException("regular expression /" + regex + "/ matches no string");
        }
        return new GbnfRules().gbnf(whole);
    }

    /**
     * The strings in which {@code regex} finds a match, over characters: an unanchored side of a top-level
     * alternative extends to any characters.
     */
    static GbnfExpr search(String regex) {
        GbnfExpr anything = GbnfExpr.star(GbnfExpr.chars(CharRanges.ANY));
        List<GbnfExpr> options = new ArrayList<>();
        for (RegexParser.Branch b : RegexParser.parse(regex)) {
            GbnfExpr body = b.body();
            if (!b.anchoredStart()) {
                body = leastAtEnd(body, true);
            }
            if (!b.anchoredEnd()) {
                body = leastAtEnd(body, false);
            }
            boolean bothFree = !b.anchoredStart() && !b.anchoredEnd() && body.equals(GbnfExpr.EMPTY);
            options.add(bothFree ? anything : GbnfExpr.seq(b.anchoredStart() ? GbnfExpr.EMPTY : anything, body,
                    b.anchoredEnd() ? GbnfExpr.EMPTY : anything));
        }
        return GbnfExpr.alt(options);
    }

    /**
     * {@code body} with a repetition at its start (or end) cut to its fewest repeats: next to any characters the
     * extra repeats are among those characters, so the strings found are the same and the grammar less ambiguous.
     */
    private static GbnfExpr leastAtEnd(GbnfExpr body, boolean start) {
        if (body instanceof GbnfExpr.Repeat r) {
            return GbnfExpr.repeat(r.item(), r.min(), r.min());
        }
        if (body instanceof GbnfExpr.Sequence s && !s.items().isEmpty()) {
            List<GbnfExpr> items = new ArrayList<>(s.items());
            int at = start ? 0 : items.size() - 1;
            if (items.get(at) instanceof GbnfExpr.Repeat r) {
                items.set(at, GbnfExpr.repeat(r.item(), r.min(), r.min()));
                return GbnfExpr.seq(items);
            }
        }
        return body;
    }
}
