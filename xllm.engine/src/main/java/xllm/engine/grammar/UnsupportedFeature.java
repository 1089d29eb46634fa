package xllm.engine.grammar;

/**
 * A constraint that uses something the engine cannot enforce (a JSON Schema keyword, a regular-expression
 * construct): refused rather than ignored, so that no output the constraint forbids is ever let through.
 */
public final class UnsupportedFeature extends GrammarException {
    private final String feature;

    /** @param feature what is not supported, as the user wrote it: {@code "multipleOf"}, {@code "lookahead (?="} */
    public UnsupportedFeature(String feature, String message) {
        super(message);
        this.feature = feature;
    }

    public String feature() {
        return feature;
    }
}
