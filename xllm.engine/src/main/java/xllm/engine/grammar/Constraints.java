package xllm.engine.grammar;

import xllm.api.StructuredOutput;

/** Compiles a request's constraint to its grammar. */
public final class Constraints {
    private Constraints() {
    }

    /** The grammar of {@code constraint}; throws {@link GrammarException} naming what cannot be compiled. */
    public static Grammar compile(StructuredOutput constraint) {
        throw new UnsupportedFeature(constraint.kind().name(), constraint.kind() + " is not supported yet");
    }
}
