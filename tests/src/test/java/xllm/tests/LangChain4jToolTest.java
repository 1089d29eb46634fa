package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.service.AiServices;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A LangChain4j AI service with a tool, against the real server: the call, the tool's result, the answer. */
class LangChain4jToolTest {
    static ServerProcess server;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start();
        server.awaitReady();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    interface Assistant {
        String chat(String question);
    }

    enum City { PARIS, OSLO, LIMA }

    /** Every argument type is bounded (an enum, a boolean), so a forced call cannot run on. */
    static final class WeatherTool {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Tool("Weather forecast for a city")
        String forecast(@P("the city") City city, @P("whether to answer in degrees Celsius") boolean celsius) {
            calls.add(city + " " + celsius);
            return city == null ? "unknown city" : "sunny, " + (celsius ? "21 C" : "70 F");
        }
    }

    /**
     * Client-side, as a user of a small model would write it: a turn that answers the user must call a tool
     * (tool_choice required), a turn after the tool's result is free to answer in text. One call at a time
     * (parallel_tool_calls false): allowed more, a model this small calls on until max_tokens cuts it off.
     */
    record CallToolFirst(ChatModel model) implements ChatModel {
        @Override
        public ChatResponse chat(ChatRequest request) {
            return model.chat(forced(request));
        }

        @Override
        public ChatResponse chat(ChatRequest request, ChatRequestOptions options) {
            return model.chat(forced(request), options);
        }

        @Override
        public ChatRequestParameters defaultRequestParameters() {
            return model.defaultRequestParameters();
        }

        @Override
        public Set<Capability> supportedCapabilities() {
            return model.supportedCapabilities();
        }

        private static ChatRequest forced(ChatRequest request) {
            List<ChatMessage> messages = request.messages();
            if (!(messages.getLast() instanceof UserMessage) || request.toolSpecifications().isEmpty()) {
                return request;
            }
            ChatRequestParameters required = ChatRequestParameters.builder().toolChoice(ToolChoice.REQUIRED).build();
            return ChatRequest.builder().messages(messages).parameters(request.parameters().overrideWith(required))
                    .build();
        }
    }

    @Test
    void aToolCallItsResultAndAnAnswer() {
        ChatModel model = OpenAiChatModel.builder().baseUrl(server.baseUrl()).apiKey("unused")
                .modelName("pycoder-22m").temperature(0.0).maxTokens(96).parallelToolCalls(false)
                .timeout(Duration.ofSeconds(60)).build();
        WeatherTool tool = new WeatherTool();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(new CallToolFirst(model)).tools(tool).build();

        String answer = assistant.chat("What is the weather in Oslo?");

        assertFalse(tool.calls.isEmpty(), "the tool ran");
        assertTrue(tool.calls.getFirst().matches("(PARIS|OSLO|LIMA) (true|false)"), tool.calls.toString());
        assertEquals(1, tool.calls.size(), "one forced call, then an answer: " + tool.calls);
        assertFalse(answer == null || answer.isBlank(), "the service answered after the tool's result");
    }
}
