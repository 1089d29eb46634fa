package xllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * HF's ByteLevel pre-tokenizer: optionally splits with the GPT-2 word regex, then spells each
 * piece's UTF-8 bytes in the {@link ByteAlphabet}, which is what byte-level vocabularies contain.
 * Immutable; thread-safe.
 */
final class ByteLevelPreTokenizer implements PreTokenizer {
    private static final RegexSplit GPT2_WORDS =
        new RegexSplit(RustRegex.compile(GPT2_REGEX), SplitBehavior.ISOLATED, false);

    private final boolean addPrefixSpace;
    private final boolean useRegex;

    ByteLevelPreTokenizer(boolean addPrefixSpace, boolean useRegex) {
        this.addPrefixSpace = addPrefixSpace;
        this.useRegex = useRegex;
    }

    @Override
    public void split(Fragment piece, List<Fragment> out) {
        Fragment prefixed = addPrefixSpace && !piece.text().startsWith(" ")
            ? Fragment.plain(" " + piece.text(), piece.atStart())
            : piece;
        List<Fragment> words;
        if (useRegex) {
            words = new ArrayList<>();
            GPT2_WORDS.split(prefixed, words);
        } else {
            words = List.of(prefixed);
        }
        for (Fragment w : words) {
            out.add(Fragment.plain(ByteAlphabet.encode(w.text()), w.atStart()));
        }
    }
}
