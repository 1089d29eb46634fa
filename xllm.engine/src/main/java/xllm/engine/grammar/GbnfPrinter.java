package xllm.engine.grammar;

/** Prints a {@link GbnfExpr} as GBNF, adding parentheses only where precedence needs them. */
final class GbnfPrinter {
    static final int CHOICE = 0;
    static final int SEQUENCE = 1;
    static final int POSTFIX = 2;

    private GbnfPrinter() {
    }

    static void print(GbnfExpr expr, StringBuilder out, int context) {
        switch (expr) {
            case GbnfExpr.Literal l -> literal(l.text(), out);
            case GbnfExpr.CharSet cs -> out.append(cs.chars().gbnf());
            case GbnfExpr.RuleRef r -> out.append(r.name());
            case GbnfExpr.Sequence s -> {
                if (s.items().isEmpty()) {
                    out.append("\"\"");
                    return;
                }
                boolean paren = context > SEQUENCE;
                out.append(paren ? "(" : "");
                for (int i = 0; i < s.items().size(); i++) {
                    out.append(i > 0 ? " " : "");
                    print(s.items().get(i), out, POSTFIX);
                }
                out.append(paren ? ")" : "");
            }
            case GbnfExpr.Choice c -> {
                if (c.options().isEmpty()) {
                    throw new IllegalStateException("the empty language has no GBNF form");
                }
                boolean paren = context > CHOICE;
                out.append(paren ? "(" : "");
                for (int i = 0; i < c.options().size(); i++) {
                    out.append(i > 0 ? " | " : "");
                    print(c.options().get(i), out, SEQUENCE);
                }
                out.append(paren ? ")" : "");
            }
            case GbnfExpr.Repeat r -> {
                boolean paren = r.item() instanceof GbnfExpr.Repeat;
                out.append(paren ? "(" : "");
                print(r.item(), out, POSTFIX);
                out.append(paren ? ")" : "");
                out.append(quantifier(r.min(), r.max()));
            }
        }
    }

    private static String quantifier(int min, int max) {
        if (max < 0) {
            return min == 0 ? "*" : min == 1 ? "+" : "{" + min + ",}";
        }
        if (min == 0 && max == 1) {
            return "?";
        }
        return min == max ? "{" + min + "}" : "{" + min + "," + max + "}";
    }

    private static void literal(String text, StringBuilder out) {
        out.append('"');
        text.codePoints().forEach(cp -> {
            if (cp == '"' || cp == '\\') {
                out.append('\\').appendCodePoint(cp);
            } else {
                CharRanges.appendPrintable(out, cp);
            }
        });
        out.append('"');
    }
}
