package xllm.engine.grammar;

/** A constraint that cannot be compiled: a syntax error, an undefined rule, a schema that is not valid. */
public class GrammarException extends IllegalArgumentException {
    public GrammarException(String message) {
        super(message);
    }
}
