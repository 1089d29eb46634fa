package xllm.api;

import java.util.Objects;

/**
 * A constraint on what a request may generate: the output must be a sentence of the language {@code spec}
 * describes. The engine compiles it to a grammar and masks, before each sampling, every token that would
 * leave the language; the output ends when the language allows nothing more.
 *
 * @param kind how {@code spec} is written
 * @param spec the constraint's source text, in the form {@code kind} names
 */
public record StructuredOutput(Kind kind, String spec) {
    /** The forms a constraint comes in. */
    public enum Kind {
        /** A JSON Schema (draft 2020-12) as JSON text; {@code {"type":"object"}} for any JSON object. */
        JSON_SCHEMA,
        /** A regular expression (ECMA-262 syntax) the whole output must match. */
        REGEX,
        /** A JSON array of strings: the output is exactly one of them. */
        CHOICE,
        /** A grammar in GBNF, llama.cpp's syntax, starting at its rule {@code root}. */
        GRAMMAR,
        /**
         * One or more tool calls in the Hermes/Qwen form, {@code <tool_call>\n{"name": ..., "arguments": ...}\n
         * </tool_call>}: a JSON object {@code {"tools": [{"name": ..., "parameters": schema}], "parallel": bool}}
         * whose parameter schemas constrain each call's arguments.
         */
        TOOL_CALLS
    }

    public StructuredOutput {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(spec, "spec");
    }

    /** Any JSON object: OpenAI's {@code response_format} {@code json_object}. */
    public static StructuredOutput jsonObject() {
        return new StructuredOutput(Kind.JSON_SCHEMA, "{\"type\":\"object\"}");
    }
}
