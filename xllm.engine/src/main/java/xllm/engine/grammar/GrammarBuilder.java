package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Assembles a {@link Grammar}: named and generated rules, each a list of alternatives, each a sequence of
 * elements (a set of bytes, or a reference to a rule). Character classes over code points become rules over
 * their UTF-8 encodings here.
 */
final class GrammarBuilder {
    private final Map<String, Integer> named = new HashMap<>();
    private final List<String> names = new ArrayList<>();
    private final List<List<int[]>> rules = new ArrayList<>();
    private final List<long[]> sets = new ArrayList<>();
    private final Map<ByteSet, Integer> setIds = new HashMap<>();
    private final Map<CharRanges, int[]> classes = new HashMap<>();

    /** The rule called {@code name}, declared on first use and defined later. */
    int rule(String name) {
        Integer id = named.get(name);
        if (id == null) {
            id = newRule(name);
            named.put(name, id);
        }
        return id;
    }

    /** A new rule no name refers to: for groups, repetitions and character classes. */
    int fresh(String base) {
        return newRule(base + "/" + rules.size());
    }

    private int newRule(String name) {
        names.add(name);
        rules.add(null);
        return rules.size() - 1;
    }

    boolean defined(int rule) {
        return rules.get(rule) != null;
    }

    void define(int rule, List<int[]> alternatives) {
        if (rules.get(rule) != null) {
            throw new GrammarException("rule '" + names.get(rule) + "' is defined twice");
        }
        rules.set(rule, List.copyOf(alternatives));
    }

    /** A rule of the given alternatives. */
    int ruleOf(String base, List<int[]> alternatives) {
        int rule = fresh(base);
        define(rule, alternatives);
        return rule;
    }

    /** The element matching one byte of {@code set} (4 longs, bit b set when byte b matches). */
    int bytes(long[] set) {
        ByteSet key = new ByteSet(set.clone());
        Integer id = setIds.get(key);
        if (id == null) {
            id = sets.size();
            sets.add(key.bits());
            setIds.put(key, id);
        }
        return Grammar.bytesElement(id);
    }

    int byteRange(int lo, int hi) {
        long[] set = new long[4];
        for (int b = lo; b <= hi; b++) {
            set[b >>> 6] |= 1L << (b & 63);
        }
        return bytes(set);
    }

    static int ref(int rule) {
        return Grammar.ruleElement(rule);
    }

    /** The elements of a literal text: one byte each, as encoded in UTF-8. */
    int[] literal(byte[] utf8) {
        int[] out = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            out[i] = byteRange(utf8[i] & 0xFF, utf8[i] & 0xFF);
        }
        return out;
    }

    /** The elements matching one character of {@code set}: a byte set for ASCII, else a rule of encodings. */
    int[] characters(CharRanges set) {
        if (set.isEmpty()) {
            throw new GrammarException("a character class matches no character");
        }
        int[] cached = classes.get(set);
        if (cached != null) {
            return cached;
        }
        long[] ascii = new long[4];
        List<int[]> alternatives = new ArrayList<>();
        int[] bounds = set.bounds();
        for (int r = 0; r < bounds.length; r += 2) {
            for (int[] seq : Utf8Sequences.of(bounds[r], bounds[r + 1])) {
                if (seq.length == 2) {
                    for (int b = seq[0]; b <= seq[1]; b++) {
                        ascii[b >>> 6] |= 1L << (b & 63);
                    }
                } else {
                    int[] elements = new int[seq.length / 2];
                    for (int i = 0; i < elements.length; i++) {
                        elements[i] = byteRange(seq[2 * i], seq[2 * i + 1]);
                    }
                    alternatives.add(elements);
                }
            }
        }
        boolean hasAscii = ascii[0] != 0 || ascii[1] != 0;
        int[] result;
        if (alternatives.isEmpty()) {
            result = new int[] {bytes(ascii)};
        } else {
            if (hasAscii) {
                alternatives.add(0, new int[] {bytes(ascii)});
            }
            result = new int[] {ref(ruleOf("char", alternatives))};
        }
        classes.put(set, result);
        return result;
    }

    /** The finished grammar, starting at the rule {@code root}; checks it is complete and not left-recursive. */
    Grammar build(String root) {
        Integer start = named.get(root);
        if (start == null || rules.get(start) == null) {
            throw new GrammarException("the grammar has no rule '" + root + "'");
        }
        for (int r = 0; r < rules.size(); r++) {
            if (rules.get(r) == null) {
                throw new GrammarException("rule '" + names.get(r) + "' is used but never defined");
            }
        }
        return new Grammar(rules, sets, names, start);
    }

    private record ByteSet(long[] bits) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ByteSet other && Arrays.equals(bits, other.bits);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bits);
        }
    }
}
