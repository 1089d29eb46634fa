package xllm.engine.tokenizer;

/**
 * Turns a stream of token ids into text deltas, never emitting half a UTF-8 character. One per request.
 *
 * <p>Bytes of an unfinished character (byte-level tokens or {@code <0xXX>} byte-fallback tokens) are
 * held back until the character completes; characters the decoder strips from the end of the whole
 * text are held back until something follows them. So the concatenation of all {@link #next} results
 * and {@link #flush()} equals {@link Tokenizer#decode}. Not thread-safe.
 */
public final class IncrementalDecoder {
    private final Detokenizer detokenizer;
    private final boolean skipSpecialTokens;
    private final Utf8Stream utf8;
    private final StringBuilder text = new StringBuilder(32);
    private boolean started;
    private int stripStartLeft;
    private int heldTail;

    IncrementalDecoder(Detokenizer detokenizer, boolean skipSpecialTokens) {
        this.detokenizer = detokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        this.utf8 = new Utf8Stream(detokenizer.byteFallback());
        this.stripStartLeft = detokenizer.stripStart();
    }

    /** Appends one token; returns the newly complete text (possibly empty). */
    public String next(int tokenId) {
        if (skipSpecialTokens && detokenizer.isSpecial(tokenId)) {
            return "";
        }
        byte[] piece = detokenizer.piece(tokenId, !started);
        if (piece == null) {
            return "";
        }
        text.setLength(0);
        if (detokenizer.byteFallback() && !detokenizer.isByteToken(tokenId)) {
            utf8.terminate(text);
        }
        if (started && detokenizer.joinWithSpaces()) {
            text.append(' ');
        }
        started = true;
        utf8.write(piece, text);
        return emit(false);
    }

    /** Text still held back at the end of the stream (incomplete bytes, rendered as U+FFFD). */
    public String flush() {
        text.setLength(0);
        utf8.terminate(text);
        return emit(true);
    }

    private String emit(boolean end) {
        if (heldTail > 0 && (!end || !text.isEmpty())) {
            // Held-back trailing strip characters may turn out not to be at the end after all.
            text.insert(0, String.valueOf(detokenizer.stripChar()).repeat(heldTail));
        }
        heldTail = 0;
        char strip = detokenizer.stripChar();
        int from = 0;
        while (stripStartLeft > 0 && from < text.length() && text.charAt(from) == strip) {
            from++;
            stripStartLeft--;
        }
        if (from < text.length()) {
            stripStartLeft = 0;
        }
        int to = text.length();
        int stop = detokenizer.stripStop();
        if (stop > 0) {
            int held = 0;
            while (held < stop && to > from && text.charAt(to - 1) == strip) {
                to--;
                held++;
            }
            heldTail = end ? 0 : held;
        }
        return from == to ? "" : text.substring(from, to);
    }
}
