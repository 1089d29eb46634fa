package xllm.engine.grammar;

import java.util.Arrays;

/**
 * An immutable set of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges: the character
 * classes the converters build (regex classes, JSON string characters) before they are printed as GBNF.
 */
record CharRanges(int[] bounds) {
    static final int MAX = 0x10FFFF;
    static final CharRanges EMPTY = new CharRanges(new int[0]);
    /** Every code point a UTF-8 text can hold: surrogates are not characters. */
    static final CharRanges SURROGATES = new CharRanges(new int[] {0xD800, 0xDFFF});
    static final CharRanges ANY = of(0, 0xD7FF).union(of(0xE000, MAX));

    static CharRanges of(int lo, int hi) {
        return lo > hi ? EMPTY : new CharRanges(new int[] {lo, hi});
    }

    static CharRanges single(int codePoint) {
        return of(codePoint, codePoint);
    }

    /** The code points of {@code chars}, each a single character. */
    static CharRanges ofChars(String chars) {
        CharRanges set = EMPTY;
        for (int cp : chars.codePoints().toArray()) {
            set = set.union(single(cp));
        }
        return set;
    }

    boolean isEmpty() {
        return bounds.length == 0;
    }

    /** The code point when this set holds exactly one, else -1. */
    int singleCodePoint() {
        return bounds.length == 2 && bounds[0] == bounds[1] ? bounds[0] : -1;
    }

    boolean contains(int cp) {
        for (int i = 0; i < bounds.length; i += 2) {
            if (cp >= bounds[i] && cp <= bounds[i + 1]) {
                return true;
            }
        }
        return false;
    }

    long size() {
        long n = 0;
        for (int i = 0; i < bounds.length; i += 2) {
            n += bounds[i + 1] - bounds[i] + 1;
        }
        return n;
    }

    CharRanges union(CharRanges other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        int[] out = new int[bounds.length + other.bounds.length];
        int len = 0;
        int i = 0;
        int j = 0;
        while (i < bounds.length || j < other.bounds.length) {
            boolean mine = j >= other.bounds.length || i < bounds.length && bounds[i] <= other.bounds[j];
            int lo = mine ? bounds[i] : other.bounds[j];
            int hi = mine ? bounds[i + 1] : other.bounds[j + 1];
            if (mine) {
                i += 2;
            } else {
                j += 2;
            }
            if (len > 0 && lo <= out[len - 1] + 1) {
                out[len - 1] = Math.max(out[len - 1], hi);
            } else {
                out[len++] = lo;
                out[len++] = hi;
            }
        }
        return new CharRanges(len == out.length ? out : Arrays.copyOf(out, len));
    }

    /** Every code point from 0 to U+10FFFF (surrogates included) not in this set. */
    CharRanges complement() {
        int[] out = new int[bounds.length + 2];
        int len = 0;
        int next = 0;
        for (int i = 0; i < bounds.length; i += 2) {
            if (bounds[i] > next) {
                out[len++] = next;
                out[len++] = bounds[i] - 1;
            }
            next = bounds[i + 1] + 1;
        }
        if (next <= MAX) {
            out[len++] = next;
            out[len++] = MAX;
        }
        return new CharRanges(Arrays.copyOf(out, len));
    }

    CharRanges minus(CharRanges other) {
        return intersect(other.complement());
    }

    CharRanges intersect(CharRanges other) {
        int[] out = new int[bounds.length + other.bounds.length];
        int len = 0;
        int i = 0;
        int j = 0;
        while (i < bounds.length && j < other.bounds.length) {
            int lo = Math.max(bounds[i], other.bounds[j]);
            int hi = Math.min(bounds[i + 1], other.bounds[j + 1]);
            if (lo <= hi) {
                out[len++] = lo;
                out[len++] = hi;
            }
            if (bounds[i + 1] < other.bounds[j + 1]) {
                i += 2;
            } else {
                j += 2;
            }
        }
        return new CharRanges(Arrays.copyOf(out, len));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharRanges r && Arrays.equals(bounds, r.bounds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bounds);
    }

    /**
     * This set as a GBNF character class, negated when that is shorter. GBNF classes hold no surrogates, so
     * surrogates are neither printed nor needed in a negated class.
     */
    String gbnf() {
        CharRanges positive = minus(SURROGATES);
        CharRanges complement = complement().minus(SURROGATES);
        if (complement.isEmpty()) {
            return ".";
        }
        boolean negate = complement.bounds.length < positive.bounds.length
                || complement.bounds.length == positive.bounds.length && contains(MAX);
        CharRanges shown = negate ? complement : positive;
        StringBuilder out = new StringBuilder(negate ? "[^" : "[");
        for (int i = 0; i < shown.bounds.length; i += 2) {
            appendClassChar(out, shown.bounds[i]);
            if (shown.bounds[i + 1] != shown.bounds[i]) {
                if (shown.bounds[i + 1] > shown.bounds[i] + 1) {
                    out.append('-');
                }
                appendClassChar(out, shown.bounds[i + 1]);
            }
        }
        return out.append(']').toString();
    }

    private static void appendClassChar(StringBuilder out, int cp) {
        if (cp == ']' || cp == '[' || cp == '\\' || cp == '^' || cp == '-') {
            out.append('\\').appendCodePoint(cp);
        } else {
            appendPrintable(out, cp);
        }
    }

    /** Appends {@code cp} as itself when it is printable ASCII, else as a GBNF escape. */
    static void appendPrintable(StringBuilder out, int cp) {
        if (cp >= 0x20 && cp < 0x7F) {
            out.appendCodePoint(cp);
        } else if (cp < 0x80) {
            appendHex(out.append("\\x"), cp, 2);
        } else if (cp < 0x10000) {
            appendHex(out.append("\\u"), cp, 4);
        } else {
            appendHex(out.append("\\U"), cp, 8);
        }
    }

    private static void appendHex(StringBuilder out, int value, int digits) {
        for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
            out.append(Character.toUpperCase(Character.forDigit(value >>> shift & 0xF, 16)));
        }
    }
}
