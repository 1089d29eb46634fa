package xllm.engine.grammar;

/** Writing GBNF text: literals escaped so that the parser reads back exactly the given characters. */
public final class Gbnf {
    private Gbnf() {
    }

    /** {@code text} as a GBNF string literal, quotes included. */
    public static String literal(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        text.codePoints().forEach(cp -> {
            switch (cp) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (cp < 0x20 || cp == 0x7F) {
                        out.append(String.format("\\x%02X", cp));
                    } else {
                        out.appendCodePoint(cp);
                    }
                }
            }
        });
        return out.append('"').toString();
    }
}
