package xllm.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Tool calls in the Hermes/Qwen form as GBNF: {@code <tool_call>\n{"name": "NAME", "arguments": ARGS}\n</tool_call>},
 * one call, or with {@code "parallel": true} one or more separated by a newline. NAME is one of the tools' names
 * and ARGS a JSON object valid under that tool's {@code parameters} schema (any object when it has none).
 */
public final class ToolCallGrammar {
    private ToolCallGrammar() {
    }

    /** The grammar of {@code spec}: {@code {"tools": [{"name": ..., "parameters": schema}], "parallel": bool}}. */
    public static String toGbnf(String spec) {
        JsonNode root = JsonSchemaGrammar.parse(spec, "the tool-call specification");
        JsonNode tools = root.path("tools");
        if (!tools.isArray() || tools.isEmpty()) {
            throw new GrammarException("the tool-call specification needs \"tools\": a non-empty array of {\"name\", \"parameters\"}");
        }
        JsonNode parallel = root.path("parallel");
        if (!parallel.isMissingNode() && !parallel.isBoolean()) {
            throw new GrammarException("\"parallel\" must be true or false, not " + parallel);
        }
        GbnfRules rules = new GbnfRules();
        JsonText json = new JsonText(rules);
        Set<String> names = new HashSet<>();
        List<GbnfExpr> calls = new ArrayList<>();
        for (JsonNode tool : tools) {
            JsonNode name = tool.path("name");
            if (!name.isTextual() || name.asText().isEmpty()) {
                throw new GrammarException("every tool needs a \"name\" that is a non-empty string; got " + tool);
            }
            if (!names.add(name.asText())) {
                throw new GrammarException("two tools are named '" + name.asText() + "'");
            }
            GbnfExpr arguments = tool.has("parameters")
                    ? new JsonSchemaGrammar(tool.get("parameters"), json).objectRoot("tool '" + name.asText() + "'")
                    : json.object();
            calls.add(GbnfExpr.seq(GbnfExpr.lit("\"" + JsonText.escape(name.asText()) + "\", \"arguments\": "), arguments));
        }
        String call = rules.fresh("tool-call");
        rules.define(call, GbnfExpr.seq(GbnfExpr.lit("<tool_call>\n{\"name\": "), GbnfExpr.alt(calls),
                GbnfExpr.lit("}\n</tool_call>")));
        GbnfExpr start = parallel.asBoolean(false)
                ? GbnfExpr.seq(GbnfExpr.ref(call), GbnfExpr.star(GbnfExpr.seq(GbnfExpr.lit("\n"), GbnfExpr.ref(call))))
                : GbnfExpr.ref(call);
        return rules.gbnf(start);
    }
}
