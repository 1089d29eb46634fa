package xllm.engine.grammar;

/** A compiled grammar over bytes. */
public final class Grammar {
}
