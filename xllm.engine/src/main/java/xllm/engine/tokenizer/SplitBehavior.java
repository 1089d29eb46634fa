package xllm.engine.tokenizer;

/**
 * What a Split pre-tokenizer does with the text its pattern matched (HF's SplitDelimiterBehavior).
 * The span arrays are {start, end} pairs over one piece, each flagged as match or gap.
 */
enum SplitBehavior {
    REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

    static SplitBehavior fromJson(String name, TokenizerJson json) {
        return switch (name) {
            case "Removed" -> REMOVED;
            case "Isolated" -> ISOLATED;
            case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> MERGED_WITH_NEXT;
            case "Contiguous" -> CONTIGUOUS;
            default -> throw json.error("unsupported split behavior '" + name + "'");
        };
    }

    /**
     * Combines the spans in place and returns how many remain. {@code starts/ends/matches} hold
     * {@code count} consecutive spans covering the piece.
     */
    int combine(int[] starts, int[] ends, boolean[] matches, int count) {
        int kept = 0;
        switch (this) {
            case ISOLATED -> kept = count;
            case REMOVED -> {
                for (int i = 0; i < count; i++) {
                    if (!matches[i]) {
                        starts[kept] = starts[i];
                        ends[kept++] = ends[i];
                    }
                }
            }
            case MERGED_WITH_PREVIOUS, CONTIGUOUS -> {
                boolean previousMatch = false;
                for (int i = 0; i < count; i++) {
                    boolean merge = this == CONTIGUOUS ? matches[i] == previousMatch : matches[i] && !previousMatch;
                    if (merge && kept > 0) {
                        ends[kept - 1] = ends[i];
                    } else {
                        starts[kept] = starts[i];
                        ends[kept++] = ends[i];
                    }
                    previousMatch = matches[i];
                }
            }
            case MERGED_WITH_NEXT -> {
                // A delimiter joins the span after it: walk backwards into scratch arrays (writing
                // in place would overwrite spans not read yet), then copy back in forward order.
                int[] s = new int[count];
                int[] e = new int[count];
                boolean nextIsMatch = false;
                for (int i = count - 1; i >= 0; i--) {
                    if (matches[i] && !nextIsMatch && kept > 0) {
                        s[kept - 1] = starts[i];
                    } else {
                        s[kept] = starts[i];
                        e[kept++] = ends[i];
                    }
                    nextIsMatch = matches[i];
                }
                for (int i = 0; i < kept; i++) {
                    starts[i] = s[kept - 1 - i];
                    ends[i] = e[kept - 1 - i];
                }
            }
        }
        return kept;
    }
}
