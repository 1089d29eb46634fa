package xllm.engine.tokenizer;

/**
 * A slice of the input on its way to the model. {@code addedId >= 0} marks an added token that is
 * emitted as is; {@code atStart} says whether the slice begins at offset 0 of the original text,
 * which Metaspace's {@code prepend_scheme: first} depends on.
 */
record Fragment(String text, int addedId, boolean atStart) {
    static Fragment plain(String text, boolean atStart) {
        return new Fragment(text, -1, atStart);
    }

    boolean isAddedToken() {
        return addedId >= 0;
    }
}
