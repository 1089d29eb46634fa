package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tool calls in the Hermes/Qwen form: the model names a tool it was given and passes arguments its schema allows. */
class ToolCallGrammarTest {
    private static final String TOOLS = """
            "tools": [
              {"name": "get_weather", "parameters": {"type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                "required": ["city"], "additionalProperties": false}},
              {"name": "now"},
              {"name": "say \\"hi\\"", "parameters": {"properties": {"n": {"$ref": "#/$defs/count"}},
                "$defs": {"count": {"type": "integer", "minimum": 1}}}}
            ]""";

    private static String call(String name, String arguments) {
        return "<tool_call>\n{\"name\": \"" + name + "\", \"arguments\": " + arguments + "}\n</tool_call>";
    }

    @Test
    void oneCallToAGivenToolWithValidArguments() {
        Grammar g = Grammar.parse(ToolCallGrammar.toGbnf("{" + TOOLS + ", \"parallel\": false}"));
        assertTrue(g.accepts(call("get_weather", "{\"city\": \"Paris\"}")));
        assertTrue(g.accepts(call("get_weather", "{\"city\":\"Paris\",\"unit\":\"c\"}")));
        assertTrue(g.accepts(call("now", "{}")));
        assertTrue(g.accepts(call("now", "{\"anything\": [1, 2]}")));
        assertTrue(g.accepts(call("say \\\"hi\\\"", "{\"n\": 3}")));
        assertFalse(g.accepts(call("get_weather", "{}")), "city is required");
        assertFalse(g.accepts(call("get_weather", "{\"city\": \"Paris\", \"unit\": \"k\"}")));
        assertFalse(g.accepts(call("get_time", "{}")), "not a tool");
        assertFalse(g.accepts(call("now", "[]")), "arguments are an object");
        assertFalse(g.accepts(call("say \\\"hi\\\"", "{\"n\": 0}")));
        assertFalse(g.accepts(call("say \\\"hi\\\"", "3")), "arguments are an object even where the schema allows more");
        assertFalse(g.accepts(call("now", "{}") + "\n" + call("now", "{}")), "one call only");
        assertFalse(g.accepts("<tool_call>\n{\"name\":\"now\",\"arguments\":{}}\n</tool_call>"), "the call's own layout is fixed");
    }

    @Test
    void parallelCallsAreSeparatedByNewlines() {
        Grammar g = Grammar.parse(ToolCallGrammar.toGbnf("{" + TOOLS + ", \"parallel\": true}"));
        assertTrue(g.accepts(call("now", "{}")));
        assertTrue(g.accepts(call("now", "{}") + "\n" + call("get_weather", "{\"city\": \"Oslo\"}") + "\n" + call("now", "{}")));
        assertFalse(g.accepts(call("now", "{}") + "\n"));
        assertFalse(g.accepts(call("now", "{}") + call("now", "{}")));
        assertFalse(g.accepts(""));
    }

    @Test
    void badSpecificationsAreErrors() {
        for (String bad : List.of("[]", "{\"tools\": []}", "{\"tools\": [{\"parameters\": {}}]}",
                "{\"tools\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", "{\"tools\": [{\"name\": \"a\"}], \"parallel\": 1}",
                "{\"tools\": [{\"name\": \"a\", \"parameters\": {\"type\": \"array\"}}]}", "not json")) {
            assertThrows(GrammarException.class, () -> ToolCallGrammar.toGbnf(bad), bad);
        }
        assertEquals("multipleOf", assertThrows(UnsupportedFeature.class, () -> ToolCallGrammar.toGbnf(
                "{\"tools\": [{\"name\": \"a\", \"parameters\": {\"properties\": {\"x\": {\"multipleOf\": 2}}}}]}")).feature());
    }
}
