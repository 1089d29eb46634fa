package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses an ECMA-262 regular expression (unicode mode: a character is a code point) into a {@link GbnfExpr}
 * over characters. Constructs whose language is not regular, or that depend on where the match sits
 * (lookaround, backreferences, word boundaries, anchors inside the pattern, flags), are refused.
 */
final class RegexParser {
    /** A top-level alternative and whether it is anchored at the start ({@code ^}) and at the end ({@code $}). */
    record Branch(GbnfExpr body, boolean anchoredStart, boolean anchoredEnd) {
    }

    static final CharRanges DIGIT = CharRanges.of('0', '9');
    static final CharRanges WORD = CharRanges.of('a', 'z').union(CharRanges.of('A', 'Z')).union(DIGIT)
            .union(CharRanges.single('_'));
    static final CharRanges SPACE = CharRanges.ofChars("\t\n\u000B\f\r \u00A0\u1680\u2028\u2029\u202F\u205F\u3000\uFEFF")
            .union(CharRanges.of(0x2000, 0x200A));
    static final CharRanges LINE_TERMINATORS = CharRanges.ofChars("\n\r\u2028\u2029");

    private final String source;
    private final int[] cps;
    private int pos;

    private RegexParser(String source) {
        this.source = source;
        this.cps = source.codePoints().toArray();
    }

    /** The top-level alternatives of {@code regex}. */
    static List<Branch> parse(String regex) {
        RegexParser parser = new RegexParser(regex);
        List<Branch> branches = new ArrayList<>();
        do {
            branches.add(parser.topLevelAlternative());
        } while (parser.eat('|'));
        if (parser.pos < parser.cps.length) {
            throw parser.error("unmatched ')'");
        }
        return branches;
    }

    private Branch topLevelAlternative() {
        boolean start = eat('^');
        List<GbnfExpr> terms = new ArrayList<>();
        boolean end = false;
        while (pos < cps.length && peek() != '|' && peek() != ')') {
            if (eat('$')) {
                if (pos < cps.length && peek() != '|' && peek() != ')') {
                    throw unsupported("$ anchor", "'$' is only supported at the end of the pattern or of a top-level alternative");
                }
                end = true;
                break;
            }
            terms.add(term());
        }
        return new Branch(GbnfExpr.seq(terms), start, end);
    }

    private GbnfExpr disjunction() {
        List<GbnfExpr> options = new ArrayList<>();
        do {
            List<GbnfExpr> terms = new ArrayList<>();
            while (pos < cps.length && peek() != '|' && peek() != ')') {
                terms.add(term());
            }
            options.add(GbnfExpr.seq(terms));
        } while (eat('|'));
        return GbnfExpr.alt(options);
    }

    private GbnfExpr term() {
        int c = peek();
        if (c == '^') {
            throw unsupported("^ anchor", "'^' is only supported at the start of the pattern or of a top-level alternative");
        }
        if (c == '$') {
            throw unsupported("$ anchor", "'$' is only supported at the end of the pattern or of a top-level alternative");
        }
        GbnfExpr atom = atom();
        return quantified(atom);
    }

    private GbnfExpr quantified(GbnfExpr atom) {
        int min;
        int max;
        if (eat('*')) {
            min = 0;
            max = -1;
        } else if (eat('+')) {
            min = 1;
            max = -1;
        } else if (eat('?')) {
            min = 0;
            max = 1;
        } else if (peek() == '{' && braceQuantifierAhead()) {
            pos++;
            min = number();
            max = min;
            if (eat(',')) {
                max = peek() == '}' ? -1 : number();
            }
            pos++;
            if (max >= 0 && max < min) {
                throw error("quantifier {" + min + "," + max + "} has its numbers out of order");
            }
        } else {
            return atom;
        }
        eat('?'); // a lazy quantifier matches the same strings
        if (pos < cps.length && (peek() == '*' || peek() == '+' || peek() == '?'
                || (peek() == '{' && braceQuantifierAhead()))) {
            throw error("nothing to repeat");
        }
        return GbnfExpr.repeat(atom, min, max);
    }

    private boolean braceQuantifierAhead() {
        int i = pos + 1;
        int digits = 0;
        while (i < cps.length && Character.isDigit(cps[i])) {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
        if (i < cps.length && cps[i] == ',') {
            i++;
            while (i < cps.length && Character.isDigit(cps[i])) {
                i++;
            }
        }
        return i < cps.length && cps[i] == '}';
    }

    private int number() {
        int start = pos;
        while (pos < cps.length && Character.isDigit(cps[pos])) {
            pos++;
        }
        try {
            return Integer.parseInt(new String(cps, start, pos - start));
        } catch (NumberFormatException e) {
            throw error("repetition count too large");
        }
    }

    private GbnfExpr atom() {
        int c = next();
        return switch (c) {
            case '.' -> GbnfExpr.chars(CharRanges.ANY.minus(LINE_TERMINATORS));
            case '(' -> group();
            case '[' -> GbnfExpr.chars(characterClass());
            case '\\' -> atomEscape();
            case '*', '+', '?' -> throw error("nothing to repeat");
            case '{' -> {
                if (braceQuantifierAheadAt(pos - 1)) {
                    throw error("nothing to repeat");
                }
                yield GbnfExpr.chars(CharRanges.single(c));
            }
            default -> GbnfExpr.chars(CharRanges.single(c));
        };
    }

    private boolean braceQuantifierAheadAt(int at) {
        int saved = pos;
        pos = at;
        boolean ahead = braceQuantifierAhead();
        pos = saved;
        return ahead;
    }

    private GbnfExpr group() {
        if (eat('?')) {
            if (eat(':')) {
                // non-capturing: same language
            } else if (eat('=') || eat('!')) {
                throw unsupported("lookahead", "lookahead assertions (?= (?! are not supported");
            } else if (peek() == '<' && pos + 1 < cps.length && (cps[pos + 1] == '=' || cps[pos + 1] == '!')) {
                throw unsupported("lookbehind", "lookbehind assertions (?<= (?<! are not supported");
            } else if (eat('<')) {
                while (pos < cps.length && peek() != '>') {
                    pos++;
                }
                if (!eat('>')) {
                    throw error("unterminated group name");
                }
            } else {
                throw unsupported("flags", "regular-expression flags and modifiers (?...) are not supported");
            }
        }
        GbnfExpr inner = disjunction();
        if (!eat(')')) {
            throw error("missing ')'");
        }
        return inner;
    }

    private GbnfExpr atomEscape() {
        if (pos >= cps.length) {
            throw error("'\\' at the end of the pattern");
        }
        int c = peek();
        if (c == 'b' || c == 'B') {
            throw unsupported("word boundary", "word boundaries \\b \\B are not supported");
        }
        if (c >= '1' && c <= '9' || c == 'k') {
            throw unsupported("backreference", "backreferences (\\1, \\k<name>) are not supported");
        }
        return GbnfExpr.chars(escape(false));
    }

    /** The characters an escape after '\' stands for; {@code inClass} for the meaning inside [...]. */
    private CharRanges escape(boolean inClass) {
        int c = next();
        return switch (c) {
            case 'd' -> DIGIT;
            case 'D' -> CharRanges.ANY.minus(DIGIT);
            case 'w' -> WORD;
            case 'W' -> CharRanges.ANY.minus(WORD);
            case 's' -> SPACE;
            case 'S' -> CharRanges.ANY.minus(SPACE);
            case 'p', 'P' -> {
                if (!eat('{')) {
                    throw error("\\" + Character.toString(c) + " must be followed by {property}");
                }
                int start = pos;
                while (pos < cps.length && peek() != '}') {
                    pos++;
                }
                String name = new String(cps, start, pos - start);
                if (!eat('}') || name.isEmpty()) {
                    throw error("unterminated \\" + Character.toString(c) + "{...}");
                }
                CharRanges chars = UnicodeProperties.of(name).intersect(CharRanges.ANY);
                yield c == 'p' ? chars : CharRanges.ANY.minus(chars);
            }
            case 'n' -> CharRanges.single('\n');
            case 't' -> CharRanges.single('\t');
            case 'r' -> CharRanges.single('\r');
            case 'f' -> CharRanges.single('\f');
            case 'v' -> CharRanges.single(0x0B);
            case 'b' -> CharRanges.single(0x08); // only reached inside a class
            case '0' -> {
                if (pos < cps.length && Character.isDigit(peek())) {
                    throw unsupported("octal escape", "octal escapes are not supported");
                }
                yield CharRanges.single(0);
            }
            case 'c' -> {
                int letter = next();
                if (!(letter >= 'a' && letter <= 'z' || letter >= 'A' && letter <= 'Z')) {
                    throw error("\\c must be followed by a letter");
                }
                yield CharRanges.single(letter % 32);
            }
            case 'x' -> CharRanges.single(hex(2));
            case 'u' -> CharRanges.single(unicodeEscape());
            case '-' -> {
                if (!inClass) {
                    throw error("invalid escape \\-");
                }
                yield CharRanges.single('-');
            }
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw error("invalid escape \\" + Character.toString(c));
                }
                yield CharRanges.single(c);
            }
        };
    }

    private int unicodeEscape() {
        if (eat('{')) {
            int start = pos;
            while (pos < cps.length && peek() != '}') {
                pos++;
            }
            String digits = new String(cps, start, pos - start);
            if (!eat('}') || digits.isEmpty() || digits.length() > 6 || !digits.matches("[0-9a-fA-F]+")) {
                throw error("invalid \\u{...} escape");
            }
            int cp = Integer.parseInt(digits, 16);
            if (cp > CharRanges.MAX) {
                throw error("\\u{" + digits + "} is beyond U+10FFFF");
            }
            return cp;
        }
        int unit = hex(4);
        if (Character.isHighSurrogate((char) unit) && pos + 1 < cps.length && cps[pos] == '\\' && cps[pos + 1] == 'u') {
            int saved = pos;
            pos += 2;
            int low = hex(4);
            if (Character.isLowSurrogate((char) low)) {
                return Character.toCodePoint((char) unit, (char) low);
            }
            pos = saved;
        }
        return unit;
    }

    private int hex(int digits) {
        if (pos + digits > cps.length) {
            throw error("incomplete hexadecimal escape");
        }
        String text = new String(cps, pos, digits);
        if (!text.matches("[0-9a-fA-F]+")) {
            throw error("invalid hexadecimal escape '" + text + "'");
        }
        pos += digits;
        return Integer.parseInt(text, 16);
    }

    private CharRanges characterClass() {
        boolean negated = eat('^');
        CharRanges set = CharRanges.EMPTY;
        while (true) {
            if (pos >= cps.length) {
                throw error("missing ']'");
            }
            if (eat(']')) {
                break;
            }
            CharRanges first = classAtom();
            if (peek() == '-' && pos + 1 < cps.length && cps[pos + 1] != ']') {
                pos++;
                CharRanges last = classAtom();
                int lo = first.singleCodePoint();
                int hi = last.singleCodePoint();
                if (lo < 0 || hi < 0) {
                    throw error("a class escape cannot bound a range");
                }
                if (lo > hi) {
                    throw error("range out of order in character class");
                }
                set = set.union(CharRanges.of(lo, hi));
            } else {
                set = set.union(first);
            }
        }
        // A class stands for characters, never surrogate halves.
        return negated ? CharRanges.ANY.minus(set) : set.intersect(CharRanges.ANY);
    }

    private CharRanges classAtom() {
        int c = next();
        return c == '\\' ? escape(true) : CharRanges.single(c);
    }

    private int peek() {
        return pos < cps.length ? cps[pos] : -1;
    }

    private int next() {
        if (pos >= cps.length) {
            throw error("unexpected end of pattern");
        }
        return cps[pos++];
    }

    private boolean eat(int c) {
        if (pos < cps.length && cps[pos] == c) {
            pos++;
            return true;
        }
        return false;
    }

    private GrammarException error(String what) {
        return new GrammarException("invalid regular expression /" + source + "/ at " + pos + ": " + what);
    }

    private UnsupportedFeature unsupported(String feature, String what) {
        return new UnsupportedFeature(feature, "regular expression /" + source + "/: " + what);
    }
}
