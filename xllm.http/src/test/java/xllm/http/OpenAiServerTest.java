package xllm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OpenAiServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static EchoService service;
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        service = new EchoService();
        server = OpenAiServer.start(service, ServerOptions.onPort(0).withServedModelName("echo-model"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void reset() {
        service.ready = true;
        service.overloaded = false;
        service.broken = false;
        service.brokenTextStream = false;
        service.tickMillis = 0;
    }

    @Test
    void completionAnswersWithTextAndUsage() throws Exception {
        JsonNode body = ok(post("/v1/completions", """
                {"model": "echo-model", "prompt": "hello", "max_tokens": 7, "temperature": 0}"""));
        assertTrue(body.get("id").asText().startsWith("cmpl-"));
        assertEquals("text_completion", body.get("object").asText());
        assertEquals("echo-model", body.get("model").asText());
        JsonNode choice = body.get("choices").get(0);
        assertEquals("hellohe", choice.get("text").asText());
        assertEquals("length", choice.get("finish_reason").asText());
        assertEquals(5, body.get("usage").get("prompt_tokens").asInt());
        assertEquals(7, body.get("usage").get("completion_tokens").asInt());
        assertEquals(12, body.get("usage").get("total_tokens").asInt());
    }

    @Test
    void completionStreamsChunksThenDone() throws Exception {
        List<String> events = stream("/v1/completions", """
                {"prompt": "hello", "max_tokens": 5, "stream": true}""");
        assertEquals("[DONE]", events.getLast());
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (String event : events.subList(0, events.size() - 1)) {
            JsonNode choice = JSON.readTree(event).get("choices").get(0);
            text.append(choice.get("text").asText());
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertEquals("hello", text.toString());
        assertEquals("length", finish);
    }

    @Test
    void chatAnswersWithAssistantMessage() throws Exception {
        JsonNode body = ok(post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 8}"""));
        assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("chat.completion", body.get("object").asText());
        JsonNode message = body.get("choices").get(0).get("message");
        assertEquals("assistant", message.get("role").asText());
        assertEquals("user: hi", message.get("content").asText());
        assertEquals("user: hi\nassistant: ".length(), body.get("usage").get("prompt_tokens").asInt());
    }

    @Test
    void chatStreamNamesRoleFirstAndReportsUsageLast() throws Exception {
        List<String> events = stream("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 4, "stream": true,
                 "stream_options": {"include_usage": true}}""");
        assertEquals("[DONE]", events.getLast());
        JsonNode first = JSON.readTree(events.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        JsonNode usageChunk = JSON.readTree(events.get(events.size() - 2));
        assertTrue(usageChunk.get("choices").isEmpty());
        assertEquals(4, usageChunk.get("usage").get("completion_tokens").asInt());
        StringBuilder text = new StringBuilder();
        for (String event : events.subList(1, events.size() - 2)) {
            JsonNode delta = JSON.readTree(event).get("choices").get(0).get("delta");
            text.append(delta.path("content").asText(""));
        }
        assertEquals("user", text.toString());
    }

    @Test
    void flexServiceTierRunsOfflineAndIsEchoed() throws Exception {
        JsonNode flex = ok(post("/v1/completions", """
                {"prompt": "hello", "max_tokens": 3, "service_tier": "flex"}"""));
        assertEquals("flex", flex.get("service_tier").asText());
        assertEquals("hel", flex.at("/choices/0/text").asText());
        assertTrue(service.submitted.get(flex.get("id").asText() + "-0").offline(), "the engine got it as offline work");

        for (String online : List.of("auto", "default", "priority")) {
            JsonNode body = ok(post("/v1/completions",
                    "{\"prompt\": \"hello\", \"max_tokens\": 3, \"service_tier\": \"" + online + "\"}"));
            assertEquals("default", body.get("service_tier").asText(), online + " is served as default");
            assertFalse(service.submitted.get(body.get("id").asText() + "-0").offline(), online);
        }
        JsonNode plain = ok(post("/v1/completions", """
                {"prompt": "hello", "max_tokens": 3}"""));
        assertFalse(plain.has("service_tier"), "no tier asked, none named");
        assertFalse(service.submitted.get(plain.get("id").asText() + "-0").offline());

        List<String> events = stream("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "stream": true, "service_tier": "flex"}""");
        for (String event : events.subList(0, events.size() - 1)) {
            assertEquals("flex", JSON.readTree(event).get("service_tier").asText(), event);
        }
    }

    @Test
    void unknownServiceTierIs400NamingTheField() throws Exception {
        JsonNode error = assertError(post("/v1/completions", """
                {"prompt": "hi", "service_tier": "turbo"}"""), 400, "service_tier");
        assertEquals("service_tier must be one of \"auto\", \"default\", \"flex\" or \"priority\", got \"turbo\"",
                error.get("message").asText());
        assertError(post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "hi"}], "service_tier": 1}"""), 400, "service_tier");
    }

    @Test
    void stopStringTruncatesTextAndAbortsTheEngineRequest() throws Exception {
        service.tickMillis = 5;
        JsonNode body = ok(post("/v1/completions", """
                {"prompt": "abcdefgh", "max_tokens": 50, "stop": ["xyz", "de"]}"""));
        JsonNode choice = body.get("choices").get(0);
        assertEquals("abc", choice.get("text").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
        assertEquals(5, body.get("usage").get("completion_tokens").asInt());
        assertTrue(service.aborted.contains(body.get("id").asText() + "-0"));
    }

    @Test
    void streamedStopStringNeverShowsItsStart() throws Exception {
        List<String> events = stream("/v1/completions", """
                {"prompt": "abcdefgh", "max_tokens": 50, "stop": "def", "stream": true}""");
        StringBuilder text = new StringBuilder();
        for (String event : events.subList(0, events.size() - 1)) {
            text.append(JSON.readTree(event).get("choices").get(0).get("text").asText());
        }
        assertEquals("abc", text.toString());
    }

    @Test
    void nChoicesGetDistinctRequestsAndSeeds() throws Exception {
        JsonNode body = ok(post("/v1/completions", """
                {"prompt": "abc", "max_tokens": 3, "n": 2, "seed": 7}"""));
        JsonNode choices = body.get("choices");
        assertEquals(2, choices.size());
        Set<Integer> indexes = new TreeSet<>(List.of(choices.get(0).get("index").asInt(), choices.get(1).get("index").asInt()));
        assertEquals(Set.of(0, 1), indexes);
        String id = body.get("id").asText();
        assertEquals(7L, service.submitted.get(id + "-0").params().seed());
        assertEquals(8L, service.submitted.get(id + "-1").params().seed());
        assertEquals(6, body.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void listOfPromptsGivesOneChoiceEach() throws Exception {
        JsonNode body = ok(post("/v1/completions", """
                {"prompt": [[104, 105], [111, 107]], "max_tokens": 2}"""));
        assertEquals("hi", body.get("choices").get(0).get("text").asText());
        assertEquals("ok", body.get("choices").get(1).get("text").asText());
    }

    @Test
    void echoRepeatsThePromptBeforeTheCompletion() throws Exception {
        JsonNode body = ok(post("/v1/completions", """
                {"prompt": [104, 105], "max_tokens": 3, "echo": true}"""));
        assertEquals("hihih", body.get("choices").get(0).get("text").asText());
        List<String> events = stream("/v1/completions", """
                {"prompt": "ok", "max_tokens": 1, "echo": true, "stream": true}""");
        assertEquals("ok", JSON.readTree(events.getFirst()).get("choices").get(0).get("text").asText());
    }

    @Test
    void completionLogprobsListEveryToken() throws Exception {
        JsonNode body = ok(post("/v1/completions", """
                {"prompt": "ab", "max_tokens": 2, "logprobs": 2}"""));
        JsonNode logprobs = body.get("choices").get(0).get("logprobs");
        assertEquals(List.of("a", "b"), texts(logprobs.get("tokens")));
        assertEquals(-0.5, logprobs.get("token_logprobs").get(0).asDouble(), 1e-6);
        assertEquals(-1.5, logprobs.get("top_logprobs").get(0).get("b").asDouble(), 1e-6);
        assertEquals(1, logprobs.get("text_offset").get(1).asInt());
    }

    @Test
    void chatLogprobsListContentEntries() throws Exception {
        JsonNode body = ok(post("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "logprobs": true, "top_logprobs": 1}"""));
        JsonNode entry = body.get("choices").get(0).get("logprobs").get("content").get(0);
        assertEquals("u", entry.get("token").asText());
        assertEquals(117, entry.get("bytes").get(0).asInt());
        assertEquals(1, entry.get("top_logprobs").size());
    }

    @Test
    void badFieldIs400NamingTheField() throws Exception {
        HttpResponse<String> response = post("/v1/completions", """
                {"prompt": "hi", "temperature": -1}""");
        assertEquals("temperature must be a number >= 0, got -1.0", assertError(response, 400, "temperature").get("message").asText());
        assertError(post("/v1/completions", "{\"prompt\": \"hi\", \"top_p\": 0}"), 400, "top_p");
        assertEquals("presence_penalty must be in [-2, 2], got 3.0", assertError(post("/v1/chat/completions",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"presence_penalty\": 3}"), 400, "presence_penalty")
                .get("message").asText());
        assertError(post("/v1/completions", "{\"prompt\": \"hi\", \"n\": 0}"), 400, "n");
        assertError(post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": \"many\"}"), 400, "max_tokens");
        assertError(post("/v1/completions", "{\"max_tokens\": 3}"), 400, "prompt");
        assertError(post("/v1/chat/completions", "{\"max_tokens\": 3}"), 400, "messages");
        assertError(post("/v1/completions", "{\"prompt\": [5, 1000]}"), 400, "prompt");
    }

    @Test
    void contextOverflowIs400InVllmWords() throws Exception {
        HttpResponse<String> response = post("/v1/completions",
                "{\"prompt\": \"" + "x".repeat(100) + "\", \"max_tokens\": 40}");
        JsonNode error = assertError(response, 400, "max_tokens");
        assertEquals("This model's maximum context length is 128 tokens. However, you requested 140 tokens "
                + "(100 in the prompt, 40 in the completion). Please reduce the length of the prompt or completion.",
                error.get("message").asText());
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(post("/v1/chat/completions", "{\"messages\": [}"), 400, null);
        assertError(post("/v1/completions", "[1, 2]"), 400, null);
        assertError(post("/v1/completions", ""), 400, null);
    }

    @Test
    void unknownModelAndRouteAre404Json() throws Exception {
        assertError(post("/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"hi\"}"), 404, "model");
        HttpResponse<String> route = send(HttpRequest.newBuilder(uri("/v1/nothing")).GET());
        assertError(route, 404, null);
    }

    @Test
    void overloadedServiceIs429() throws Exception {
        service.overloaded = true;
        assertError(post("/v1/completions", "{\"prompt\": \"hi\"}"), 429, null);
    }

    @Test
    void unexpectedFailureIs500AndTheServerStaysUp() throws Exception {
        service.broken = true;
        assertError(post("/v1/completions", "{\"prompt\": \"hi\"}"), 500, null);
        service.broken = false;
        ok(post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 1}"));
    }

    @Test
    void failureMidStreamEndsWithAnErrorEvent() throws Exception {
        service.brokenTextStream = true;
        List<String> events = stream("/v1/chat/completions", """
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": true}""");
        assertEquals("[DONE]", events.getLast());
        assertEquals(500, JSON.readTree(events.get(events.size() - 2)).get("error").get("code").asInt());
    }

    @Test
    void loadingModelIs503() throws Exception {
        service.ready = false;
        assertError(post("/v1/completions", "{\"prompt\": \"hi\"}"), 503, null);
        assertEquals(503, send(HttpRequest.newBuilder(uri("/health")).GET()).statusCode());
        service.ready = true;
        assertEquals(200, send(HttpRequest.newBuilder(uri("/health")).GET()).statusCode());
    }

    @Test
    void apiKeyGuardsOnlyTheApi() throws Exception {
        try (OpenAiServer secured = OpenAiServer.start(service, ServerOptions.onPort(0).withApiKey("sesame"))) {
            URI base = URI.create("http://127.0.0.1:" + secured.port());
            HttpRequest.Builder models = HttpRequest.newBuilder(base.resolve("/v1/models")).GET();
            assertError(send(models), 401, null);
            assertError(send(HttpRequest.newBuilder(base.resolve("/v1/models")).header("Authorization", "Bearer nope").GET()), 401, null);
            HttpResponse<String> allowed = send(HttpRequest.newBuilder(base.resolve("/v1/models"))
                    .header("Authorization", "Bearer sesame").GET());
            assertEquals(200, allowed.statusCode());
            assertEquals("echo", JSON.readTree(allowed.body()).get("data").get(0).get("id").asText());
            assertEquals(200, send(HttpRequest.newBuilder(base.resolve("/health")).GET()).statusCode());
            assertEquals(200, send(HttpRequest.newBuilder(base.resolve("/metrics")).GET()).statusCode());
        }
    }

    @Test
    void playgroundLoadsWithoutTheKeyAndOnlyFromThisServer() throws Exception {
        try (OpenAiServer secured = OpenAiServer.start(service, ServerOptions.onPort(0).withApiKey("sesame"))) {
            URI base = URI.create("http://127.0.0.1:" + secured.port());
            HttpResponse<String> page = send(HttpRequest.newBuilder(base.resolve("/")).GET());
            assertEquals(200, page.statusCode(), "the page itself asks for the key, so it loads without one");
            assertEquals("text/html; charset=utf-8", page.headers().firstValue("Content-Type").orElse(""));
            assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").startsWith("default-src 'self'"));
            assertTrue(page.body().contains("<label for=\"message\" id=\"message-label\">Message</label>"), page.body());
            Matcher links = Pattern.compile("(?:src|href)=\"([^\"]*)\"").matcher(page.body());
            List<String> loaded = new ArrayList<>();
            while (links.find()) {
                loaded.add(links.group(1));
            }
            assertEquals(List.of("data:,", "/static/playground.css", "/static/playground.js", "#main"), loaded);
            for (String[] file : new String[][] {{"/static/playground.js", "text/javascript; charset=utf-8"},
                    {"/static/playground.css", "text/css; charset=utf-8"}}) {
                HttpResponse<String> served = send(HttpRequest.newBuilder(base.resolve(file[0])).GET());
                assertEquals(200, served.statusCode(), file[0]);
                assertEquals(file[1], served.headers().firstValue("Content-Type").orElse(""));
                assertEquals("nosniff", served.headers().firstValue("X-Content-Type-Options").orElse(""));
            }
            // only plain names of the page's own files: no way out of the directory, no class files
            for (String path : List.of("/static/../xllm/http/OpenAiServer.class", "/static/..%2fOpenAiServer.class",
                    "/static/%2e%2e%2fendpoint%2fPlaygroundEndpoint.class", "/static/PlaygroundEndpoint.class",
                    "/static/playground.JS", "/static/missing.js", "/static/.hidden.js", "/index.html")) {
                assertError(send(HttpRequest.newBuilder(URI.create(base + path)).GET()), 404, null);
            }
        }
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        try (OpenAiServer small = OpenAiServer.start(service, ServerOptions.onPort(0).withMaxBodyBytes(1024))) {
            String body = "{\"prompt\": \"" + "x".repeat(4000) + "\"}";
            HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + small.port() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertError(response, 413, null);
        }
    }

    @Test
    void clientThatLeavesMidStreamGetsItsRequestAborted() throws Exception {
        service.tickMillis = 20;
        HttpRequest request = HttpRequest.newBuilder(uri("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"abc\", \"max_tokens\": 100, \"stream\": true}"))
                .build();
        HttpResponse<InputStream> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
        String id;
        try (InputStream body = response.body()) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            String line = reader.readLine();
            id = JSON.readTree(line.substring("data: ".length())).get("id").asText();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!service.aborted.contains(id + "-0") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(service.aborted.contains(id + "-0"), "the engine request was not aborted");
    }

    @Test
    void modelsTokenizeDetokenizeAndMetrics() throws Exception {
        JsonNode models = JSON.readTree(send(HttpRequest.newBuilder(uri("/v1/models")).GET()).body());
        assertEquals("echo-model", models.get("data").get(0).get("id").asText());
        assertEquals(128, models.get("data").get(0).get("max_model_len").asInt());
        JsonNode tokens = ok(post("/tokenize", "{\"prompt\": \"hi\"}"));
        assertEquals(2, tokens.get("count").asInt());
        assertEquals(104, tokens.get("tokens").get(0).asInt());
        assertEquals("hi", ok(post("/detokenize", "{\"tokens\": [104, 105]}")).get("prompt").asText());
        HttpResponse<String> metrics = send(HttpRequest.newBuilder(uri("/metrics")).GET());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertTrue(metrics.body().contains("vllm:num_requests_running"));
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(node -> texts.add(node.asText()));
        return texts;
    }

    private static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return send(HttpRequest.newBuilder(uri(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return CLIENT.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(HttpResponse<String> response) throws Exception {
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    private static JsonNode assertError(HttpResponse<String> response, int status, String param) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        JsonNode error = JSON.readTree(response.body()).get("error");
        assertEquals(status, error.get("code").asInt());
        assertFalse(error.get("message").asText().isBlank());
        assertFalse(error.get("type").asText().isBlank());
        if (param != null) {
            assertEquals(param, error.get("param").asText(), error.toString());
        }
        return error;
    }

    /** The data of each server-sent event of a streamed response. */
    private static List<String> stream(String path, String body) throws Exception {
        HttpResponse<String> response = post(path, body);
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = new ArrayList<>();
        for (String block : response.body().split("\n\n")) {
            if (!block.isBlank()) {
                assertTrue(block.startsWith("data: "), block);
                events.add(block.substring("data: ".length()));
            }
        }
        return events;
    }
}
