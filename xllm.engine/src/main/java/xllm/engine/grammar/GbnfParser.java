package xllm.engine.grammar;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a grammar in GBNF, llama.cpp's notation: {@code name ::= alternatives}, string literals, character
 * classes over code points, {@code .}, groups, {@code * + ?} and {@code {m,n}} repetition, {@code #} comments.
 * Errors name the line and what was expected.
 */
final class GbnfParser {
    /** Repetition counts beyond this are refused: each repeat is compiled out. */
    static final int MAX_REPEAT = 100_000;

    private final String src;
    private final GrammarBuilder builder = new GrammarBuilder();
    private int pos;
    private int depth;

    GbnfParser(String src) {
        this.src = src;
    }

    Grammar parse() {
        skipSpace(true);
        while (pos < src.length()) {
            parseRule();
            skipSpace(true);
        }
        return builder.build("root");
    }

    private void parseRule() {
        String name = name();
        skipSpace(false);
        if (!src.startsWith("::=", pos)) {
            throw error("expected '::=' after rule name '" + name + "'");
        }
        pos += 3;
        skipSpace(true);
        int rule = builder.rule(name);
        builder.define(rule, alternatives(name));
        skipSpace(false);
        if (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
            throw error("unexpected '" + src.charAt(pos) + "' in rule '" + name + "'");
        }
    }

    private List<int[]> alternatives(String name) {
        List<int[]> alts = new ArrayList<>();
        alts.add(sequence(name));
        while (true) {
            int save = pos;
            skipSpace(true);
            if (pos < src.length() && src.charAt(pos) == '|') {
                pos++;
                skipSpace(true);
                alts.add(sequence(name));
            } else {
                pos = depth > 0 ? pos : save;
                return alts;
            }
        }
    }

    private int[] sequence(String name) {
        List<Integer> elements = new ArrayList<>();
        int lastStart = -1;
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '"') {
                pos++;
                lastStart = elements.size();
                for (int e : builder.literal(literal())) {
                    elements.add(e);
                }
            } else if (c == '[') {
                pos++;
                lastStart = elements.size();
                for (int e : builder.characters(charClass())) {
                    elements.add(e);
                }
            } else if (c == '.') {
                pos++;
                lastStart = elements.size();
                for (int e : builder.characters(CharRanges.ANY)) {
                    elements.add(e);
                }
            } else if (c == '(') {
                pos++;
                depth++;
                skipSpace(true);
                int group = builder.ruleOf(name, alternatives(name));
                skipSpace(true);
                if (pos >= src.length() || src.charAt(pos) != ')') {
                    throw error("expected ')'");
                }
                pos++;
                depth--;
                lastStart = elements.size();
                elements.add(GrammarBuilder.ref(group));
            } else if (isNameChar(c)) {
                int start = pos;
                String ref = name();
                int save = pos;
                skipSpace(true);
                if (src.startsWith("::=", pos)) {
                    pos = start; // the next rule begins
                    break;
                }
                pos = save;
                lastStart = elements.size();
                elements.add(GrammarBuilder.ref(builder.rule(ref)));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (lastStart < 0) {
                    throw error("'" + c + "' with nothing before it to repeat");
                }
                pos++;
                int min;
                int max;
                switch (c) {
                    case '*' -> { min = 0; max = -1; }
                    case '+' -> { min = 1; max = -1; }
                    case '?' -> { min = 0; max = 1; }
                    default -> {
                        int[] bounds = bounds();
                        min = bounds[0];
                        max = bounds[1];
                    }
                }
                int[] item = elements.subList(lastStart, elements.size()).stream().mapToInt(Integer::intValue).toArray();
                elements.subList(lastStart, elements.size()).clear();
                for (int e : Repetition.of(builder, name, item, min, max)) {
                    elements.add(e);
                }
                lastStart = -1;
            } else {
                break;
            }
            skipSpace(depth > 0);
        }
        return elements.stream().mapToInt(Integer::intValue).toArray();
    }

    private int[] bounds() {
        skipSpace(false);
        int min = number();
        int max = min;
        skipSpace(false);
        if (pos < src.length() && src.charAt(pos) == ',') {
            pos++;
            skipSpace(false);
            max = pos < src.length() && Character.isDigit(src.charAt(pos)) ? number() : -1;
            skipSpace(false);
        }
        if (pos >= src.length() || src.charAt(pos) != '}') {
            throw error("expected '}' to close a repetition count");
        }
        pos++;
        if (max >= 0 && max < min) {
            throw error("repetition {" + min + "," + max + "}: the maximum is below the minimum");
        }
        return new int[] {min, max};
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number in a repetition count");
        }
        long n = Long.parseLong(src.substring(start, Math.min(pos, start + 12)));
        if (pos - start > 12 || n > MAX_REPEAT) {
            throw error("repetition count " + src.substring(start, pos) + " exceeds " + MAX_REPEAT);
        }
        return (int) n;
    }

    private byte[] literal() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated string literal");
            }
            char c = src.charAt(pos);
            if (c == '"') {
                pos++;
                return out.toByteArray();
            }
            int cp = c == '\\' ? escape() : nextCodepoint();
            out.writeBytes(Utf8Sequences.encode(cp));
        }
    }

    private CharRanges charClass() {
        boolean negated = pos < src.length() && src.charAt(pos) == '^';
        if (negated) {
            pos++;
        }
        CharRanges set = CharRanges.EMPTY;
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated character class");
            }
            if (src.charAt(pos) == ']') {
                pos++;
                break;
            }
            int lo = classChar();
            int hi = lo;
            if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                pos++;
                hi = classChar();
            }
            if (lo > hi) {
                throw error("character range out of order: " + Character.toString(lo) + "-" + Character.toString(hi));
            }
            set = set.union(CharRanges.of(lo, hi));
        }
        return negated ? set.complement() : set;
    }

    private int classChar() {
        return src.charAt(pos) == '\\' ? escape() : nextCodepoint();
    }

    private int nextCodepoint() {
        int cp = src.codePointAt(pos);
        pos += Character.charCount(cp);
        return cp;
    }

    /** An escape after its backslash: n, r, t, xHH, uHHHH, UHHHHHHHH, or the character itself. */
    private int escape() {
        pos++; // the backslash
        if (pos >= src.length()) {
            throw error("a backslash ends the grammar");
        }
        char c = src.charAt(pos++);
        return switch (c) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            default -> c;
        };
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("expected " + digits + " hex digits");
        }
        int value = 0;
        for (int i = 0; i < digits; i++) {
            int d = Character.digit(src.charAt(pos++), 16);
            if (d < 0) {
                throw error("expected " + digits + " hex digits");
            }
            value = value * 16 + d;
        }
        if (value > CharRanges.MAX || (value >= 0xD800 && value <= 0xDFFF)) {
            throw error("escape " + Integer.toHexString(value) + " is not a Unicode scalar value");
        }
        return value;
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && isNameChar(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a rule name");
        }
        return src.substring(start, pos);
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    /** Skips blanks and comments; newlines too when {@code newlines}. */
    private void skipSpace(boolean newlines) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
                pos++;
            } else {
                return;
            }
        }
    }

    private GrammarException error(String message) {
        int line = 1;
        for (int i = 0; i < Math.min(pos, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
        return new GrammarException("grammar line " + line + ": " + message);
    }
}
