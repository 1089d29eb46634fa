package xllm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.GenerateRequest;
import xllm.api.StructuredOutput;
import xllm.api.StructuredOutput.Kind;

/**
 * Structured outputs and tools over HTTP against the echo service, whose output repeats the rendered prompt:
 * a user turn that holds a tool call (and the end-of-sequence character) makes the "model" call a tool.
 */
class StructuredOutputAndToolsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""";
    private static final String CLOCK = """
            {"type": "function", "function": {"name": "get_time"}}""";
    /** What the echo model says back: the first turn, which calls get_weather, then it stops. */
    private static final String CALLING_TURN = """
            {"role": "user", "content": "<tool_call>\\n{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}\\n</tool_call>\\u0002"}""";

    private static EchoService service;
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        service = new EchoService(1024);
        server = OpenAiServer.start(service, ServerOptions.onPort(0).withServedModelName("echo-model"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void reset() {
        service.refusesConstraints = false;
        service.tickMillis = 0;
    }

    @Test
    void jsonSchemaResponseFormatConstrainsEveryChoiceStreamedOrNot() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}";
        StructuredOutput expected = new StructuredOutput(Kind.JSON_SCHEMA, schema);
        String fields = "\"n\": 2, \"max_tokens\": 3, \"response_format\": {\"type\": \"json_schema\", \"json_schema\":"
                + " {\"name\": \"answer\", \"schema\": " + schema + ", \"strict\": true}}";
        JsonNode body = ok(post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                + fields + "}"));
        assertEquals(expected, submitted(body, 0).structuredOutput());
        assertEquals(expected, submitted(body, 1).structuredOutput());

        List<JsonNode> chunks = stream("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                + fields + ", \"stream\": true}");
        String id = chunks.getFirst().get("id").asText();
        assertEquals(expected, service.submitted.get(id + "-0").structuredOutput());
        assertEquals(expected, service.submitted.get(id + "-1").structuredOutput());

        JsonNode completion = ok(post("/v1/completions", "{\"prompt\": \"hi\", " + fields + "}"));
        assertEquals(expected, submitted(completion, 1).structuredOutput());
    }

    @Test
    void everySpellingOfAConstraintReachesTheEngine() throws Exception {
        assertConstraint("\"response_format\": {\"type\": \"json_object\"}", StructuredOutput.jsonObject());
        assertConstraint("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"any\"}}",
                StructuredOutput.jsonObject());
        assertConstraint("\"response_format\": {\"type\": \"text\"}", null);
        assertConstraint("\"structured_outputs\": {\"json\": {\"type\": \"integer\"}}",
                new StructuredOutput(Kind.JSON_SCHEMA, "{\"type\":\"integer\"}"));
        assertConstraint("\"structured_outputs\": {\"json\": \"{\\\"type\\\": \\\"string\\\"}\"}",
                new StructuredOutput(Kind.JSON_SCHEMA, "{\"type\":\"string\"}"));
        assertConstraint("\"structured_outputs\": {\"regex\": \"[a-z]+\"}", new StructuredOutput(Kind.REGEX, "[a-z]+"));
        assertConstraint("\"structured_outputs\": {\"choice\": [\"yes\", \"no\"]}",
                new StructuredOutput(Kind.CHOICE, "[\"yes\",\"no\"]"));
        assertConstraint("\"structured_outputs\": {\"grammar\": \"root ::= \\\"a\\\"\"}",
                new StructuredOutput(Kind.GRAMMAR, "root ::= \"a\""));
        assertConstraint("\"structured_outputs\": {\"json_object\": true}", StructuredOutput.jsonObject());
        assertConstraint("\"guided_json\": {\"type\": \"boolean\"}",
                new StructuredOutput(Kind.JSON_SCHEMA, "{\"type\":\"boolean\"}"));
        assertConstraint("\"guided_regex\": \"\\\\d+\"", new StructuredOutput(Kind.REGEX, "\\d+"));
        assertConstraint("\"guided_choice\": [\"a\"]", new StructuredOutput(Kind.CHOICE, "[\"a\"]"));
        assertConstraint("\"guided_grammar\": \"root ::= [0-9]\"", new StructuredOutput(Kind.GRAMMAR, "root ::= [0-9]"));
        assertConstraint("\"max_tokens\": 2", null);
    }

    @Test
    void badConstraintsAre400NamingTheirField() throws Exception {
        assertChatError("\"response_format\": {\"type\": \"json_object\"}, \"structured_outputs\": {\"regex\": \"a\"}",
                "structured_outputs", "response_format and structured_outputs both constrain the output; give only one of them");
        assertChatError("\"guided_regex\": \"a\", \"guided_choice\": [\"a\"]", "guided_choice", null);
        assertChatError("\"structured_outputs\": {\"regex\": \"a\", \"choice\": [\"a\"]}", "structured_outputs",
                "structured_outputs must hold exactly one of json, regex, choice, grammar or json_object, got regex, choice");
        assertChatError("\"structured_outputs\": {\"structural_tag\": \"x\"}", "structured_outputs", null);
        assertChatError("\"structured_outputs\": {\"json\": \"{not json\"}", "structured_outputs", null);
        assertChatError("\"structured_outputs\": {\"choice\": []}", "structured_outputs", null);
        assertChatError("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"schema\": {}}}",
                "response_format", "response_format.json_schema.name must be 1 to 64 letters, digits, '_' or '-'");
        assertChatError("\"response_format\": {\"type\": \"yaml\"}", "response_format", null);
        assertChatError("\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"a\", \"schema\": 3}}",
                "response_format", null);

        service.refusesConstraints = true;
        assertChatError("\"response_format\": {\"type\": \"json_object\"}", "response_format",
                "JSON_SCHEMA is not supported yet");
        assertChatError("\"guided_regex\": \"a\"", "guided_regex", "REGEX is not supported yet");
        assertChatError("\"tools\": [" + WEATHER + "], \"tool_choice\": \"required\"", "tools",
                "TOOL_CALLS is not supported yet");
        assertEquals(400, post("/v1/completions", "{\"prompt\": \"hi\", \"structured_outputs\": {\"regex\": \"a\"}}")
                .statusCode());
        ok(post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 1,"
                + " \"tools\": [" + WEATHER + "]}"));
    }

    @Test
    void badToolsAre400NamingTheirField() throws Exception {
        assertChatError("\"tools\": [{\"type\": \"retrieval\", \"function\": {\"name\": \"f\"}}]", "tools",
                "tools[0].type must be \"function\", got \"retrieval\"");
        assertChatError("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"no spaces\"}}]", "tools", null);
        assertChatError("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"\"}}]", "tools", null);
        assertChatError("\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"" + "f".repeat(65) + "\"}}]",
                "tools", null);
        assertChatError("\"tools\": [" + WEATHER + ", " + WEATHER + "]", "tools", null);
        assertChatError("\"tools\": {\"type\": \"function\"}", "tools", null);
        assertChatError("\"tools\": [" + WEATHER + "], \"tool_choice\": {\"type\": \"function\", \"function\":"
                + " {\"name\": \"get_time\"}}", "tool_choice",
                "tool_choice names the function \"get_time\", which is not among the tools");
        assertChatError("\"tool_choice\": \"required\"", "tool_choice", null);
        assertChatError("\"tools\": [" + WEATHER + "], \"tool_choice\": \"always\"", "tool_choice", null);
        assertChatError("\"tools\": [" + WEATHER + "], \"parallel_tool_calls\": \"yes\"", "parallel_tool_calls", null);
        assertChatError("\"tools\": [" + WEATHER + "], \"tool_choice\": \"required\", \"response_format\":"
                + " {\"type\": \"json_object\"}", "tool_choice", null);
    }

    @Test
    void requiredAndNamedToolChoicesConstrainTheOutputToCalls() throws Exception {
        JsonNode weatherParameters = JSON.readTree(WEATHER).at("/function/parameters");
        JsonNode required = JSON.readTree(toolSpec(chat("\"tools\": [" + WEATHER + ", " + CLOCK + "], \"tool_choice\": \"required\"")));
        assertEquals(2, required.get("tools").size());
        assertEquals("get_weather", required.at("/tools/0/name").asText());
        assertEquals(weatherParameters, required.at("/tools/0/parameters"));
        assertEquals(JSON.readTree("{\"type\": \"object\", \"properties\": {}, \"additionalProperties\": false}"),
                required.at("/tools/1/parameters"), "a function without parameters takes an empty object");
        assertTrue(required.get("parallel").asBoolean());

        JsonNode named = JSON.readTree(toolSpec(chat("\"tools\": [" + WEATHER + ", " + CLOCK + "], \"tool_choice\":"
                + " {\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}")));
        assertEquals(1, named.get("tools").size());
        assertEquals("get_weather", named.at("/tools/0/name").asText());
        assertFalse(named.get("parallel").asBoolean(), "a named choice forces one call, parallel calls allowed or not");
        JsonNode single = JSON.readTree(toolSpec(chat("\"tools\": [" + WEATHER + "], \"tool_choice\": \"required\","
                + " \"parallel_tool_calls\": false")));
        assertFalse(single.get("parallel").asBoolean());

        assertNull(submitted(chat("\"tools\": [" + WEATHER + "]"), 0).structuredOutput(), "auto leaves the model free");
        assertEquals(1, service.renderedTools.size(), "auto offers the tools");
        assertEquals(JSON.readTree(WEATHER), JSON.readTree(service.renderedTools.getFirst()));
        chat("\"tools\": [" + WEATHER + "], \"tool_choice\": \"none\"");
        assertEquals(List.of(), service.renderedTools, "none offers no tools");
    }

    @Test
    void aCallInTheOutputBecomesToolCallsWithFinishReasonToolCalls() throws Exception {
        JsonNode body = ok(post("/v1/chat/completions", "{\"messages\": [" + CALLING_TURN + "], \"max_tokens\": 200,"
                + " \"tools\": [" + WEATHER + "]}"));
        JsonNode choice = body.at("/choices/0");
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        JsonNode message = choice.get("message");
        assertEquals("user:", message.get("content").asText(), "the text before the call stays content");
        JsonNode call = message.at("/tool_calls/0");
        assertEquals(1, message.get("tool_calls").size());
        assertTrue(call.get("id").asText().startsWith("call_"));
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.at("/function/name").asText());
        assertEquals("{\"city\": \"Paris\"}", call.at("/function/arguments").asText());

        JsonNode plain = ok(post("/v1/chat/completions", "{\"messages\": [" + CALLING_TURN + "], \"max_tokens\": 200,"
                + " \"tools\": [" + WEATHER + "], \"tool_choice\": \"none\"}"));
        assertEquals("stop", plain.at("/choices/0/finish_reason").asText());
        assertFalse(plain.at("/choices/0/message").has("tool_calls"));
        assertTrue(plain.at("/choices/0/message/content").asText().contains("<tool_call>"), "none reads no calls");

        JsonNode cut = ok(post("/v1/chat/completions", "{\"messages\": [" + CALLING_TURN + "], \"max_tokens\": 40,"
                + " \"tools\": [" + WEATHER + "]}"));
        assertEquals("length", cut.at("/choices/0/finish_reason").asText());
        assertFalse(cut.at("/choices/0/message").has("tool_calls"), "a call cut off is no call");
    }

    @Test
    void aStreamedCallShowsItsNameThenItsArgumentsPieceByPiece() throws Exception {
        String request = "{\"messages\": [" + CALLING_TURN + "], \"max_tokens\": 200, \"tools\": [" + WEATHER + "],"
                + " \"tool_choice\": \"auto\", \"n\": 2";
        JsonNode whole = ok(post("/v1/chat/completions", request + "}"));
        service.tickMillis = 2;
        List<JsonNode> chunks = stream("/v1/chat/completions", request + ", \"stream\": true}");
        for (int index = 0; index < 2; index++) {
            StringBuilder content = new StringBuilder();
            StringBuilder arguments = new StringBuilder();
            List<String> finishes = new ArrayList<>();
            JsonNode start = null;
            int argumentChunks = 0;
            for (JsonNode chunk : chunks) {
                JsonNode choice = chunk.at("/choices/0");
                if (choice.get("index").asInt() != index) {
                    continue;
                }
                JsonNode delta = choice.get("delta");
                content.append(delta.path("content").asText(""));
                if (!choice.get("finish_reason").isNull()) {
                    finishes.add(choice.get("finish_reason").asText());
                }
                if (delta.has("tool_calls")) {
                    JsonNode call = delta.at("/tool_calls/0");
                    assertEquals(0, call.get("index").asInt());
                    if (call.has("id")) {
                        assertNull(start, "one start per call");
                        assertEquals("", content.toString().substring("user:".length()), "content ends before the call");
                        start = call;
                        assertEquals("", call.at("/function/arguments").asText());
                    } else {
                        assertTrue(start != null, "arguments come after the call's start");
                        arguments.append(call.at("/function/arguments").asText());
                        argumentChunks++;
                    }
                }
            }
            JsonNode expected = whole.at("/choices/" + index + "/message/tool_calls/0/function");
            assertEquals("user:", content.toString());
            assertEquals("function", start.get("type").asText());
            assertEquals("get_weather", start.at("/function/name").asText());
            assertEquals(expected.get("arguments").asText(), arguments.toString());
            assertTrue(argumentChunks > 1, "the arguments arrive as they are made");
            assertEquals(List.of("tool_calls"), finishes);
        }
    }

    @Test
    void toolTurnsOfAConversationReachTheTemplate() throws Exception {
        JsonNode body = ok(post("/v1/chat/completions", """
                {"max_tokens": 1, "tools": [%s], "messages": [
                  {"role": "user", "content": "weather?"},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "call_7", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_7", "content": "cold"}]}""".formatted(WEATHER)));
        String prompt = service.detokenize(submitted(body, 0).promptIds(), false);
        assertEquals("user: weather?assistant: [call get_weather {\"city\": \"Oslo\"}]tool: cold (for call_7)tools: 1"
                + "assistant: ", prompt, "the echo template's turns, newlines aside");

        assertChatError("\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\", \"type\": \"function\","
                + " \"function\": {\"name\": \"f\", \"arguments\": \"{oops\"}}]}]", "messages", null);
        assertChatError("\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"type\": \"function\","
                + " \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}]", "messages", null);
    }

    private static void assertConstraint(String fields, StructuredOutput expected) throws Exception {
        assertEquals(expected, submitted(chat(fields), 0).structuredOutput(), fields);
    }

    private static String toolSpec(JsonNode body) {
        StructuredOutput constraint = submitted(body, 0).structuredOutput();
        assertEquals(Kind.TOOL_CALLS, constraint.kind());
        return constraint.spec();
    }

    /** A one-token chat with {@code fields} added, answered 200. */
    private static JsonNode chat(String fields) throws Exception {
        return ok(post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 1, " + fields + "}"));
    }

    private static GenerateRequest submitted(JsonNode body, int choice) {
        return service.submitted.get(body.get("id").asText() + "-" + choice);
    }

    private static void assertChatError(String fields, String param, String message) throws Exception {
        String body = fields.startsWith("\"messages\"") ? "{" + fields + "}"
                : "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " + fields + "}";
        HttpResponse<String> response = post("/v1/chat/completions", body);
        assertEquals(400, response.statusCode(), fields + " -> " + response.body());
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertEquals(param, error.get("param").asText(), fields + " -> " + error);
        assertEquals("BadRequestError", error.get("type").asText());
        if (message != null) {
            assertEquals(message, error.get("message").asText());
        }
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(HttpResponse<String> response) throws Exception {
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    /** The JSON chunks of a streamed response, checked to end with [DONE]. */
    private static List<JsonNode> stream(String path, String body) throws Exception {
        HttpResponse<String> response = post(path, body);
        assertEquals(200, response.statusCode(), response.body());
        List<JsonNode> chunks = new ArrayList<>();
        String[] events = response.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        for (int i = 0; i < events.length - 1; i++) {
            chunks.add(JSON.readTree(events[i].substring("data: ".length())));
        }
        return chunks;
    }
}
