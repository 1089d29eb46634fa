package xllm.engine.tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HF's Split pre-tokenizer: cuts a piece at pattern matches. Immutable; thread-safe. */
final class RegexSplit implements PreTokenizer {
    private final Pattern pattern;
    private final SplitBehavior behavior;
    private final boolean invert;

    RegexSplit(Pattern pattern, SplitBehavior behavior, boolean invert) {
        this.pattern = pattern;
        this.behavior = behavior;
        this.invert = invert;
    }

    @Override
    public void split(Fragment piece, List<Fragment> out) {
        String text = piece.text();
        if (text.isEmpty()) {
            return;
        }
        int capacity = 16;
        int[] starts = new int[capacity];
        int[] ends = new int[capacity];
        boolean[] matches = new boolean[capacity];
        int count = 0;
        int previous = 0;
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            if (count + 2 > capacity) {
                capacity *= 2;
                starts = Arrays.copyOf(starts, capacity);
                ends = Arrays.copyOf(ends, capacity);
                matches = Arrays.copyOf(matches, capacity);
            }
            if (m.start() > previous) {
                starts[count] = previous;
                ends[count] = m.start();
                matches[count++] = invert;
            }
            starts[count] = m.start();
            ends[count] = m.end();
            matches[count++] = !invert;
            previous = m.end();
        }
        if (count == 0) {
            // No match at all: the piece is one gap (which Removed+invert drops, as HF does).
            if (behavior != SplitBehavior.REMOVED || !invert) {
                out.add(piece);
            }
            return;
        }
        if (previous < text.length()) {
            if (count + 1 > capacity) {
                starts = Arrays.copyOf(starts, capacity + 1);
                ends = Arrays.copyOf(ends, capacity + 1);
                matches = Arrays.copyOf(matches, capacity + 1);
            }
            starts[count] = previous;
            ends[count] = text.length();
            matches[count++] = invert;
        }
        int kept = behavior.combine(starts, ends, matches, count);
        for (int i = 0; i < kept; i++) {
            if (ends[i] > starts[i]) {
                out.add(Fragment.plain(text.substring(starts[i], ends[i]), piece.atStart() && starts[i] == 0));
            }
        }
    }
}
