package xllm.engine.grammar;

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
        return GbnfExpr.alt(RegexParser.parse(regex).stream()
                .map(b -> GbnfExpr.seq(b.anchoredStart() ? GbnfExpr.EMPTY : anything, b.body(),
                        b.anchoredEnd() ? GbnfExpr.EMPTY : anything))
                .toList());
    }
}
