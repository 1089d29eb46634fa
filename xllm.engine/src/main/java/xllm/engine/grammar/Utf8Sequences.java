package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * The UTF-8 encodings of a range of code points as a few sequences of byte ranges, each sequence one
 * alternative: the split that RE2 and Rust's regex use, so that a grammar over bytes matches exactly the
 * valid encodings of the range's characters (surrogates excluded).
 */
final class Utf8Sequences {
    private Utf8Sequences() {
    }

    /** Each element: {@code {lo0, hi0, lo1, hi1, ...}}, the byte range at each position of the encoding. */
    static List<int[]> of(int lo, int hi) {
        List<int[]> out = new ArrayList<>();
        split(lo, hi, out);
        return out;
    }

    private static void split(int lo, int hi, List<int[]> out) {
        if (lo > hi) {
            return;
        }
        if (lo <= 0xDFFF && hi >= 0xD800) {
            split(lo, 0xD7FF, out);
            split(0xE000, hi, out);
            return;
        }
        for (int max : new int[] {0x7F, 0x7FF, 0xFFFF}) {
            if (lo <= max && hi > max) {
                split(lo, max, out);
                split(max + 1, hi, out);
                return;
            }
        }
        if (hi <= 0x7F) {
            out.add(new int[] {lo, hi});
            return;
        }
        int length = length(lo);
        for (int i = 1; i < length; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    split(lo, lo | m, out);
                    split((lo | m) + 1, hi, out);
                    return;
                }
                if ((hi & m) != m) {
                    split(lo, (hi & ~m) - 1, out);
                    split(hi & ~m, hi, out);
                    return;
                }
            }
        }
        byte[] a = encode(lo);
        byte[] b = encode(hi);
        int[] seq = new int[2 * a.length];
        for (int i = 0; i < a.length; i++) {
            seq[2 * i] = a[i] & 0xFF;
            seq[2 * i + 1] = b[i] & 0xFF;
        }
        out.add(seq);
    }

    private static int length(int cp) {
        return cp <= 0x7F ? 1 : cp <= 0x7FF ? 2 : cp <= 0xFFFF ? 3 : 4;
    }

    static byte[] encode(int cp) {
        return new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
