package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import xllm.api.ChatMessage;
import xllm.api.ToolCall;
import xllm.engine.TestData;

/**
 * Tools, tool calls and tool results reach a chat template as transformers hands them over, and a template
 * without tools gets them written into its turns in Qwen's words.
 */
class ChatTemplateToolsTest {
    private static final String WEATHER = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"description\": \"Current weather in a city — e.g. Zürich\", \"parameters\": {\"type\": \"object\","
            + " \"properties\": {\"city\": {\"type\": \"string\", \"maxLength\": 40}, \"unit\": {\"type\": \"string\","
            + " \"enum\": [\"celsius\", \"fahrenheit\"]}, \"days\": {\"type\": \"integer\", \"maximum\": 7}},"
            + " \"required\": [\"city\"]}}}";
    /** The same tool as a client might send it: compact, as the HTTP layer passes it on. */
    private static final String WEATHER_COMPACT = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
            + "\"description\":\"Current weather in a city — e.g. Zürich\",\"parameters\":{\"type\":\"object\","
            + "\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":40},\"unit\":{\"type\":\"string\","
            + "\"enum\":[\"celsius\",\"fahrenheit\"]},\"days\":{\"type\":\"integer\",\"maximum\":7}},"
            + "\"required\":[\"city\"]}}}";
    private static final List<ChatMessage> CALL_AND_RESULT = List.of(
            new ChatMessage("system", "You are a helpful assistant."),
            new ChatMessage("user", "What's the weather in Paris?"),
            new ChatMessage("assistant", null, List.of(new ToolCall("call_1", "get_weather",
                    "{\"city\":\"Paris\",\"scale\":0.5}")), null, null),
            new ChatMessage("tool", "{\"temperature\": 21}", List.of(), "call_1", null));
    /** Qwen's tool instructions, from its template's text. */
    private static final String TOOLS_HEAD = "# Tools\n\nYou may call one or more functions to assist with the user"
            + " query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";
    private static final String TOOLS_TAIL = "\n</tools>\n\nFor each function call, return a json object with"
            + " function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\":"
            + " <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    private static ChatTemplate qwen3() {
        return Tokenizer.load(TestData.fixture("tokenizers/real/qwen3")).chatTemplate();
    }

    /**
     * Built by hand from Qwen3's template text, and what transformers renders for this conversation: each tool
     * through json.dumps (", " and ": ", non-ASCII kept), the call's arguments parsed and dumped again.
     */
    @Test
    void qwen3RendersToolsCallsAndResultsAsTransformersDoes() {
        String expected = "<|im_start|>system\nYou are a helpful assistant.\n\n" + TOOLS_HEAD + WEATHER + TOOLS_TAIL
                + "<|im_end|>\n"
                + "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
                + " \"scale\": 0.5}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n{\"temperature\": 21}\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n";
        ChatTemplate template = qwen3();
        assertTrue(template.takesTools());
        assertEquals(expected, template.render(CALL_AND_RESULT, List.of(WEATHER_COMPACT), true));
    }

    /** The tags are added tokens but not special ones: a generation's text keeps them for the parser to read. */
    @Test
    void qwen3KeepsToolCallTagsInGeneratedText() {
        Tokenizer qwen3 = Tokenizer.load(TestData.fixture("tokenizers/real/qwen3"));
        String call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        int[] ids = qwen3.encode(call, false);
        assertEquals(151657, ids[0], "<tool_call> is one token");
        assertEquals(call, qwen3.decode(ids, true));
    }

    @Test
    void qwen3WithoutToolsHasNoToolsBlock() {
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                qwen3().render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")),
                        List.of(), true));
    }

    @Test
    void templateWithoutToolsGetsThemInTheSystemTurnInQwensWords() {
        ChatTemplate chatMl = new ChatTemplate("{%- for message in messages %}{{ '<|im_start|>' + message['role']"
                + " + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
                + "{{ '<|im_start|>assistant\\n' }}{%- endif %}", null, null);
        List<ChatMessage> conversation = List.of(
                new ChatMessage("system", "You are a helpful assistant."),
                new ChatMessage("user", "Weather in Paris and Rome?"),
                new ChatMessage("assistant", "Let me look.", List.of(
                        new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}"),
                        new ToolCall("call_2", "get_weather", "{\"city\":\"Rome\"}")), null, null),
                new ChatMessage("tool", "sunny", List.of(), "call_1", null),
                new ChatMessage("tool", "rainy", List.of(), "call_2", null));
        String expected = "<|im_start|>system\nYou are a helpful assistant.\n\n" + TOOLS_HEAD + WEATHER + TOOLS_TAIL
                + "<|im_end|>\n"
                + "<|im_start|>user\nWeather in Paris and Rome?<|im_end|>\n"
                + "<|im_start|>assistant\nLet me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                + " {\"city\": \"Rome\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrainy\n"
                + "</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n";
        assertEquals(false, chatMl.takesTools());
        assertEquals(expected, chatMl.render(conversation, List.of(WEATHER_COMPACT), true));
    }

    @Test
    void templateWithoutToolsAndNoSystemTurnGetsOne() {
        ChatTemplate plain = new ChatTemplate("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}", null,
                null);
        assertEquals("[system]" + TOOLS_HEAD + WEATHER + TOOLS_TAIL + "[user]Hi",
                plain.render(List.of(new ChatMessage("user", "Hi")), List.of(WEATHER_COMPACT), false));
    }

    /**
     * Jinjava alone reads namespace(last=messages|length - 1) as (last=messages|length) - 1 and fails, and has no
     * slice step; both are in Qwen3's template.
     */
    @Test
    void keywordArgumentsAndReversingSlicesReadAsInPython() {
        ChatTemplate template = new ChatTemplate("{%- set ns = namespace(flag=true, last=messages|length - 1) %}"
                + "{{ ns.last }} {{ ns.flag }} {{ 'a=(b, c)[::-1]' }} {{ [1, 2]|join(',') }}"
                + "{% for m in messages[::-1] %}{{ loop.index0 }}{{ m.content }}{% endfor %}", null, null);
        assertEquals("1 true a=(b, c)[::-1] 1,20b1a", template.render(List.of(new ChatMessage("user", "a"),
                new ChatMessage("user", "b")), false));
        assertEquals("{%- set ns = namespace(flag=(true), last=(messages|length - 1)) %}a=b, f(x=1)[::-1]",
                JinjavaSyntax.rewrite("{%- set ns = namespace(flag=true, last=messages|length - 1) %}a=b, f(x=1)[::-1]"));
    }

    @Test
    void callArgumentsThatAreNotJsonAreRefused() {
        List<ChatMessage> broken = List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "",
                List.of(new ToolCall("call_1", "get_weather", "{city: Paris")), null, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> qwen3().render(broken, List.of(WEATHER_COMPACT), true));
        assertTrue(e.getMessage().startsWith("tool call arguments is not valid JSON"), e.getMessage());
    }

    /** Each expected text is what Python's json.dumps writes for the value. */
    @Test
    void tojsonWritesAsPythonJsonDumps() {
        ChatTemplate template = new ChatTemplate("{{ tools[0] | tojson(indent=2) }}", null, null);
        String tool = "{\"a\": [1, {\"b\": null}], \"c\": {}, \"d\": \"\\u0001\\\"\\\\é\"}";
        assertEquals("{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n"
                        + "  \"d\": \"\\u0001\\\"\\\\é\"\n}",
                template.render(List.of(new ChatMessage("user", "")), List.of(tool), false));
        Map<String, Object> numbers = new LinkedHashMap<>();
        numbers.put("x", 1e16);
        numbers.put("y", List.of(0.5, 1e-05, 0.0001, 1.2345678901234568e+17, 1.0, -2.5e-07, 1e22, 100.0,
                9999999999999998.0, 0.1 + 0.2, 7L, true));
        assertEquals("{\"x\": 1e+16, \"y\": [0.5, 1e-05, 0.0001, 1.2345678901234568e+17, 1.0, -2.5e-07, 1e+22, 100.0,"
                + " 9999999999999998.0, 0.30000000000000004, 7, true]}", PythonJson.dumps(numbers, null, false));
    }
}
