package xllm.engine.tokenizer;

import java.nio.file.Path;

/**
 * A Hugging Face tokenizer loaded from {@code tokenizer.json} (+ {@code tokenizer_config.json}).
 * Immutable after loading; safe to share between threads.
 */
public final class Tokenizer {
    // Contract used by the rest of the engine; implemented in this package.

    public static Tokenizer load(Path dir) {
        throw new UnsupportedOperationException("tokenizer not implemented yet");
    }

    public int[] encode(String text, boolean addSpecialTokens) {
        throw new UnsupportedOperationException();
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        throw new UnsupportedOperationException();
    }

    public IncrementalDecoder newIncrementalDecoder(boolean skipSpecialTokens) {
        throw new UnsupportedOperationException();
    }

    public int vocabSize() {
        throw new UnsupportedOperationException();
    }

    /** Token id of the configured eos token, or -1. */
    public int eosTokenId() {
        throw new UnsupportedOperationException();
    }

    /** Token id of the configured bos token, or -1. */
    public int bosTokenId() {
        throw new UnsupportedOperationException();
    }

    /** The chat template from tokenizer_config.json, or null when the model has none. */
    public ChatTemplate chatTemplate() {
        throw new UnsupportedOperationException();
    }
}
