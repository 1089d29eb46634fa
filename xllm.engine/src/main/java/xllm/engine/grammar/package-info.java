/**
 * Structured outputs: constraints (JSON Schema, regular expressions, choices, GBNF grammars, tool calls)
 * compiled to byte-level grammars, run as a lazily built automaton, and turned into masks over a model's
 * whole vocabulary before each sampling.
 */
package xllm.engine.grammar;
