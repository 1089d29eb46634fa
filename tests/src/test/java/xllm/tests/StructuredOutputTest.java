package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.StructuredChatCompletionCreateParams;
import io.swagger.v3.oas.annotations.media.Schema.RequiredMode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Structured outputs and forced tool calls from the real server serving the default model, a small Python code
 * model that would never write such JSON by itself: whatever it prefers, the output must hold to the schema.
 */
class StructuredOutputTest {
    private static final String MODEL = "pycoder-22m";
    /** Bounded everywhere, so that a model with no wish to write this cannot ramble on inside it. */
    private static final String REVIEW_SCHEMA = """
            {"type": "object", "properties": {
               "language": {"enum": ["python", "java", "rust"]},
               "typed": {"type": "boolean"},
               "stars": {"type": "integer", "minimum": 0, "maximum": 5},
               "nickname": {"type": "string", "maxLength": 12}},
             "required": ["language", "typed", "stars", "nickname"], "additionalProperties": false}""";
    private static final String WEATHER_PARAMETERS = """
            {"type": "object", "properties": {
               "city": {"type": "string", "enum": ["Paris", "Oslo", "Lima"]},
               "days": {"type": "integer", "minimum": 1, "maximum": 7},
               "metric": {"type": "boolean"}},
             "required": ["city", "days", "metric"], "additionalProperties": false}""";
    private static final String TIME_PARAMETERS = """
            {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET", "JST"]}},
             "required": ["zone"], "additionalProperties": false}""";
    private static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    static ServerProcess server;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start();
        server.awaitReady();
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    @Test
    void jsonSchemaResponseFormatGivesJsonThatHoldsToTheSchema() throws Exception {
        String request = """
                {"model": "%s", "messages": [{"role": "user", "content": "Review the language you like best."}],
                 "max_tokens": 120, "temperature": 0.8, "seed": 11, "n": 2,
                 "response_format": {"type": "json_schema", "json_schema": {"name": "review", "schema": %s}}"""
                .formatted(MODEL, REVIEW_SCHEMA);
        Http.Response whole = Http.post(server.uri("/v1/chat/completions"), request + "}");
        assertEquals(200, whole.status(), whole.body());
        for (JsonNode choice : whole.json().get("choices")) {
            assertEquals("stop", choice.get("finish_reason").asText(), "the output ends where the schema does: " + choice);
            assertHoldsTo(REVIEW_SCHEMA, choice.at("/message/content").asText());
        }

        Http.Response streamed = Http.post(server.uri("/v1/chat/completions"), request + ", \"stream\": true}");
        assertEquals(200, streamed.status(), streamed.body());
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder()};
        for (String event : streamed.body().split("\n\n")) {
            String data = event.substring("data: ".length());
            if (!data.equals("[DONE]")) {
                for (JsonNode choice : Http.JSON.readTree(data).get("choices")) {
                    texts[choice.get("index").asInt()].append(choice.at("/delta/content").asText(""));
                }
            }
        }
        for (StringBuilder text : texts) {
            assertHoldsTo(REVIEW_SCHEMA, text.toString());
        }
    }

    /** What openai-java derives from a class: a strict schema, every field required, no others allowed. */
    public static class Review {
        public enum Language { PYTHON, JAVA, RUST }

        public Language language;
        public boolean typed;
        @io.swagger.v3.oas.annotations.media.Schema(minimum = "1", maximum = "5", requiredMode = RequiredMode.REQUIRED)
        public int stars;
    }

    @Test
    void openAiJavaReadsAJavaClassBackFromTheOutput() {
        StructuredChatCompletionCreateParams<Review> params = ChatCompletionCreateParams.builder().model(MODEL)
                .addUserMessage("Which language do you review, is it typed, and how many stars?")
                .maxCompletionTokens(80).temperature(0.0).responseFormat(Review.class).build();
        StructuredChatCompletion<Review> completion = client.chat().completions().create(params);
        Review review = completion.choices().getFirst().message().content().orElseThrow();
        assertTrue(review.language != null, "language is one of the enum's values");
        assertTrue(review.stars >= 1 && review.stars <= 5, "stars within the schema's bounds: " + review.stars);
        assertEquals("stop", completion.choices().getFirst().finishReason().asString());
    }

    /**
     * One call (parallel_tool_calls false): with parallel calls allowed, a model this small goes on calling
     * until max_tokens cuts it off, which is no call at all.
     */
    @Test
    void requiredToolChoiceGivesCallsWhoseArgumentsHoldToTheParameters() throws Exception {
        ChatCompletionCreateParams params = toolRequest().parallelToolCalls(false)
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();
        ChatCompletion whole = client.chat().completions().create(params);
        assertEquals("tool_calls", whole.choices().getFirst().finishReason().asString());
        List<ChatCompletionMessageToolCall> calls = whole.choices().getFirst().message().toolCalls().orElseThrow();
        assertEquals(1, calls.size());
        for (ChatCompletionMessageToolCall call : calls) {
            assertValidCall(call.asFunction());
        }

        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        int argumentPieces = 0;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                accumulator.accumulate(chunk);
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    for (ChatCompletionChunk.Choice.Delta.ToolCall call : choice.delta().toolCalls().orElse(List.of())) {
                        boolean piece = call.id().isEmpty() && !call.function().orElseThrow().arguments().orElse("").isEmpty();
                        argumentPieces += piece ? 1 : 0;
                    }
                }
            }
        }
        ChatCompletion streamed = accumulator.chatCompletion();
        assertEquals("tool_calls", streamed.choices().getFirst().finishReason().asString());
        List<ChatCompletionMessageToolCall> streamedCalls = streamed.choices().getFirst().message().toolCalls().orElseThrow();
        assertEquals(calls.stream().map(call -> call.asFunction().function()).toList(),
                streamedCalls.stream().map(call -> call.asFunction().function()).toList(),
                "greedy: the stream makes the same call");
        for (ChatCompletionMessageToolCall call : streamedCalls) {
            assertValidCall(call.asFunction());
        }
        assertTrue(argumentPieces > 1, "arguments stream as they are made, not in one piece");
    }

    @Test
    void namedToolChoiceCallsThatToolOnce() throws Exception {
        ChatCompletionCreateParams params = toolRequest().parallelToolCalls(false)
                .toolChoice(ChatCompletionNamedToolChoice.builder().function(
                        ChatCompletionNamedToolChoice.Function.builder().name("get_time").build()).build())
                .build();
        ChatCompletion completion = client.chat().completions().create(params);
        assertEquals("tool_calls", completion.choices().getFirst().finishReason().asString());
        List<ChatCompletionMessageToolCall> calls = completion.choices().getFirst().message().toolCalls().orElseThrow();
        assertEquals(1, calls.size(), "parallel_tool_calls false: one call");
        assertEquals("get_time", calls.getFirst().asFunction().function().name());
        assertValidCall(calls.getFirst().asFunction());
    }

    /**
     * Under tool_choice auto the output is read for calls whatever made them; here a GBNF grammar makes the
     * model write one in the Hermes form the server's prompt describes, through the real tokenizer.
     */
    @Test
    void autoToolChoiceReadsTheCallsInTheOutput() throws Exception {
        String grammar = "root ::= \"<tool_call>\\n{\\\"name\\\": \\\"get_time\\\", \\\"arguments\\\": "
                + "{\\\"zone\\\": \\\"\" (\"UTC\" | \"CET\" | \"JST\") \"\\\"}}\\n</tool_call>\"";
        ObjectNode request = Http.JSON.createObjectNode();
        request.put("model", MODEL);
        request.putArray("messages").addObject().put("role", "user").put("content", "What time is it in Tokyo?");
        request.put("max_tokens", 60);
        request.put("temperature", 0.0);
        request.putArray("tools").addObject().put("type", "function").putObject("function")
                .put("name", "get_time").set("parameters", Http.JSON.readTree(TIME_PARAMETERS));
        request.putObject("structured_outputs").put("grammar", grammar);
        Http.Response response = Http.post(server.uri("/v1/chat/completions"), request.toString());
        assertEquals(200, response.status(), response.body());
        JsonNode choice = response.json().at("/choices/0");
        assertEquals("tool_calls", choice.get("finish_reason").asText(), choice.toString());
        assertTrue(choice.at("/message/content").isNull(), "nothing but the call: " + choice);
        JsonNode call = choice.at("/message/tool_calls/0");
        assertEquals("get_time", call.at("/function/name").asText());
        assertTrue(call.get("id").asText().startsWith("call_"));
        assertHoldsTo(TIME_PARAMETERS, call.at("/function/arguments").asText());
    }

    private static ChatCompletionCreateParams.Builder toolRequest() throws Exception {
        return ChatCompletionCreateParams.builder().model(MODEL)
                .addSystemMessage("You are a helpful assistant.")
                .addUserMessage("What will the weather be in Oslo for the next three days, and what time is it?")
                .maxCompletionTokens(160).temperature(0.0)
                .addFunctionTool(function("get_weather", "Weather forecast for a city", WEATHER_PARAMETERS))
                .addFunctionTool(function("get_time", "The time now in a time zone", TIME_PARAMETERS));
    }

    private static FunctionDefinition function(String name, String description, String parameters) throws Exception {
        Map<String, Object> schema = Http.JSON.readValue(parameters, new TypeReference<>() { });
        Map<String, JsonValue> values = new HashMap<>();
        schema.forEach((key, value) -> values.put(key, JsonValue.from(value)));
        return FunctionDefinition.builder().name(name).description(description)
                .parameters(FunctionParameters.builder().putAllAdditionalProperties(values).build()).build();
    }

    private static void assertValidCall(ChatCompletionMessageFunctionToolCall call) throws Exception {
        assertFalse(call.id().isBlank(), "a call has an id");
        String parameters = switch (call.function().name()) {
            case "get_weather" -> WEATHER_PARAMETERS;
            case "get_time" -> TIME_PARAMETERS;
            default -> throw new AssertionError("a call of a tool never offered: " + call);
        };
        assertHoldsTo(parameters, call.function().arguments());
    }

    private static void assertHoldsTo(String schema, String json) throws Exception {
        JsonNode instance = Http.JSON.readTree(json);
        assertTrue(instance instanceof ObjectNode, "a JSON object: " + json);
        Schema compiled = SCHEMAS.getSchema(Http.JSON.readTree(schema));
        List<Error> errors = compiled.validate(instance);
        assertTrue(errors.isEmpty(), json + " breaks the schema: " + errors);
    }
}
