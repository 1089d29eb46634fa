package xllm.engine.tokenizer;

/**
 * Byte-at-a-time UTF-8 decoder that holds back an incomplete character until its last byte arrives.
 * Invalid input becomes U+FFFD, one per maximal invalid subpart (Rust's from_utf8_lossy, used by HF's
 * ByteLevel decoder) or one per byte (HF's ByteFallback decoder). Because the decision for a byte
 * never depends on how the input was chunked, streamed and one-shot decoding agree.
 * One per decoding stream; not thread-safe.
 */
final class Utf8Stream {
    private static final char REPLACEMENT = '\uFFFD';

    private final boolean replacePerByte;
    private int lead;
    private int codePoint;
    private int have;
    private int need;

    Utf8Stream(boolean replacePerByte) {
        this.replacePerByte = replacePerByte;
    }

    void write(byte[] bytes, StringBuilder out) {
        for (byte b : bytes) {
            write(b & 0xFF, out);
        }
    }

    void write(int b, StringBuilder out) {
        if (have > 0) {
            if (continues(b)) {
                codePoint = (codePoint << 6) | (b & 0x3F);
                if (++have == need) {
                    out.appendCodePoint(codePoint);
                    have = 0;
                }
                return;
            }
            terminate(out);
        }
        if (b < 0x80) {
            out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            start(b, 2, b & 0x1F);
        } else if (b >= 0xE0 && b <= 0xEF) {
            start(b, 3, b & 0x0F);
        } else if (b >= 0xF0 && b <= 0xF4) {
            start(b, 4, b & 0x07);
        } else {
            out.append(REPLACEMENT);
        }
    }

    /** Ends the current character: held-back bytes of an incomplete one become U+FFFD. */
    void terminate(StringBuilder out) {
        if (have > 0) {
            for (int i = replacePerByte ? have : 1; i > 0; i--) {
                out.append(REPLACEMENT);
            }
            have = 0;
        }
    }

    private void start(int b, int length, int bits) {
        lead = b;
        codePoint = bits;
        have = 1;
        need = length;
    }

    /** Second bytes are restricted to rule out overlong forms, surrogates and values above U+10FFFF. */
    private boolean continues(int b) {
        if (have == 1) {
            return switch (lead) {
                case 0xE0 -> b >= 0xA0 && b <= 0xBF;
                case 0xED -> b >= 0x80 && b <= 0x9F;
                case 0xF0 -> b >= 0x90 && b <= 0xBF;
                case 0xF4 -> b >= 0x80 && b <= 0x8F;
                default -> b >= 0x80 && b <= 0xBF;
            };
        }
        return b >= 0x80 && b <= 0xBF;
    }
}
