package xllm.http.generate;

import java.util.List;

/**
 * Finds the client's stop strings in one choice's generated text as it grows. Text that could still
 * turn out to be the start of a stop string is held back, so a stream never shows part of a stop
 * string that the final text would not contain. Request thread only.
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean matched;

    public StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /**
     * Adds newly generated text; returns what may be shown now. After a stop string appears, returns
     * the text before it and {@link #matched()} turns true; later calls return nothing.
     */
    public String accept(String piece) {
        if (matched) {
            return "";
        }
        if (stops.isEmpty()) {
            return piece;
        }
        held.append(piece);
        int first = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            matched = true;
            String before = held.substring(0, first);
            held.setLength(0);
            return before;
        }
        int keep = longestStopPrefixAtEnd(held.toString());
        String safe = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return safe;
    }

    /** The text held back, once no more text will come. */
    public String release() {
        String rest = held.toString();
        held.setLength(0);
        return rest;
    }

    public boolean matched() {
        return matched;
    }

    /** Length of the longest end of {@code text} that a stop string starts with. */
    private int longestStopPrefixAtEnd(String text) {
        int best = 0;
        for (String stop : stops) {
            int max = Math.min(stop.length() - 1, text.length());
            for (int len = max; len > best; len--) {
                if (text.regionMatches(text.length() - len, stop, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
