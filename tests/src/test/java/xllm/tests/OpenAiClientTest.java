package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java client against the real server serving the default model. */
class OpenAiClientTest {
    static ServerProcess server;
    static OpenAIClient client;
    static JsonNode golden;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start();
        server.awaitReady();
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl()).apiKey("unused").maxRetries(0).build();
        golden = Http.JSON.readTree(Files.readString(ServerProcess.root().resolve("models/pycoder-22m/golden.json")));
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    static CompletionCreateParams greedy(String prompt, int maxTokens) {
        return CompletionCreateParams.builder().model("pycoder-22m").prompt(prompt).maxTokens(maxTokens)
                .temperature(0.0).putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)).build();
    }

    @Test
    void completionIsTheReferenceGreedyContinuation() {
        JsonNode first = golden.get("cases").get(0);
        Completion c = client.completions().create(greedy(first.get("prompt").asText(), 32));
        assertEquals(first.get("greedy_text").asText(), c.choices().get(0).text());
        assertEquals("length", c.choices().get(0).finishReason().asString());
        assertEquals(32, c.usage().orElseThrow().completionTokens());
        assertEquals(first.get("prompt_ids").size(), c.usage().orElseThrow().promptTokens());
    }

    @Test
    void streamedCompletionConcatenatesToTheSameText() {
        JsonNode first = golden.get("cases").get(1);
        StringBuilder text = new StringBuilder();
        String finish = null;
        try (StreamResponse<Completion> stream = client.completions().createStreaming(greedy(first.get("prompt").asText(), 32))) {
            for (Completion chunk : (Iterable<Completion>) stream.stream()::iterator) {
                for (var choice : chunk.choices()) {
                    text.append(choice.text());
                    if (!choice._finishReason().isNull() && !choice._finishReason().isMissing()) {
                        finish = choice.finishReason().asString();
                    }
                }
            }
        }
        assertEquals(first.get("greedy_text").asText(), text.toString());
        assertEquals("length", finish);
    }

    @Test
    void chatCompletionStreamedAndWholeAgree() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("pycoder-22m")
                .addSystemMessage("You are a Python expert.").addUserMessage("Write a function that adds two numbers.")
                .maxCompletionTokens(24).temperature(0.0).build();
        ChatCompletion whole = client.chat().completions().create(params);
        String expected = whole.choices().get(0).message().content().orElse("");
        assertFalse(expected.isEmpty(), "the whole completion has content to compare: " + whole);
        assertTrue(whole.usage().orElseThrow().completionTokens() > 0);
        StringBuilder streamed = new StringBuilder();
        boolean sawRole = false;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                for (var choice : chunk.choices()) {
                    sawRole |= choice.delta().role().isPresent();
                    choice.delta().content().ifPresent(streamed::append);
                }
            }
        }
        assertTrue(sawRole, "the first chunk carries delta.role");
        assertEquals(expected, streamed.toString());
    }

    @Test
    void sixteenConcurrentGreedyRequestsEqualTheSameRequestsOneAtATime() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            prompts.add("def function_" + i + "(x" + ", y".repeat(i % 4) + "):\n    ");
        }
        List<String> sequential = new ArrayList<>();
        for (String p : prompts) {
            sequential.add(client.completions().create(greedy(p, 24)).choices().get(0).text());
        }
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> futures = new ArrayList<>();
            for (String p : prompts) {
                futures.add(pool.submit(() -> client.completions().create(greedy(p, 24)).choices().get(0).text()));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(sequential.get(i), futures.get(i).get(), "prompt " + i);
            }
        }
    }

    @Test
    void modelsListsTheServedModel() throws IOException {
        assertEquals("pycoder-22m", client.models().list().data().get(0).id());
    }
}
