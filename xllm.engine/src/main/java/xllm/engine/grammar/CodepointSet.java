package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A set of Unicode scalar values as sorted, disjoint, non-adjacent ranges. Immutable. */
final class CodepointSet {
    static final int MAX = 0x10FFFF;
    static final CodepointSet ANY = new CodepointSet(new int[] {0, MAX});

    /** Pairs lo, hi (inclusive), sorted and merged. */
    private final int[] ranges;

    private CodepointSet(int[] ranges) {
        this.ranges = ranges;
    }

    static CodepointSet of(int codepoint) {
        return new CodepointSet(new int[] {codepoint, codepoint});
    }

    /** The union of the ranges {@code pairs[2i] .. pairs[2i+1]}, in any order, overlapping or not. */
    static CodepointSet ofRanges(int... pairs) {
        List<int[]> list = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i] > pairs[i + 1]) {
                throw new GrammarException("character range out of order: " + describe(pairs[i]) + "-"
                        + describe(pairs[i + 1]));
            }
            list.add(new int[] {pairs[i], pairs[i + 1]});
        }
        list.sort((a, b) -> Integer.compare(a[0], b[0]));
        int[] merged = new int[list.size() * 2];
        int n = 0;
        for (int[] r : list) {
            if (n > 0 && r[0] <= merged[n - 1] + 1) {
                merged[n - 1] = Math.max(merged[n - 1], r[1]);
            } else {
                merged[n++] = r[0];
                merged[n++] = r[1];
            }
        }
        return new CodepointSet(Arrays.copyOf(merged, n));
    }

    CodepointSet union(CodepointSet other) {
        int[] both = Arrays.copyOf(ranges, ranges.length + other.ranges.length);
        System.arraycopy(other.ranges, 0, both, ranges.length, other.ranges.length);
        return ofRanges(both);
    }

    /** Every scalar value not in this set. */
    CodepointSet complement() {
        int[] out = new int[ranges.length + 2];
        int n = 0;
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out[n++] = next;
                out[n++] = ranges[i] - 1;
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX) {
            out[n++] = next;
            out[n++] = MAX;
        }
        return new CodepointSet(Arrays.copyOf(out, n));
    }

    boolean isEmpty() {
        return ranges.length == 0;
    }

    int rangeCount() {
        return ranges.length / 2;
    }

    int lo(int range) {
        return ranges[2 * range];
    }

    int hi(int range) {
        return ranges[2 * range + 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodepointSet other && Arrays.equals(ranges, other.ranges);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ranges);
    }

    static String describe(int codepoint) {
        return codepoint >= 0x20 && codepoint < 0x7F ? "'" + (char) codepoint + "'" : String.format("U+%04X", codepoint);
    }
}
