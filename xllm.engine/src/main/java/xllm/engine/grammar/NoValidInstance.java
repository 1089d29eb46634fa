package xllm.engine.grammar;

/** A schema that no JSON value satisfies ({@code false}, an empty enum): a grammar cannot state an empty language. */
final class NoValidInstance extends GrammarException {
    NoValidInstance(String message) {
        super(message);
    }
}
