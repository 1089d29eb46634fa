package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIIoException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * HTTPS from PEM files made for the run: a node serving with a self-signed certificate, spoken to by the OpenAI
 * client that trusts it; a router over a real etcd reaching that node over TLS; and a server that requires client
 * certificates. The API key travels in {@code XLLM_API_KEY}, never on a command line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsTest {
    private static final String KEY = "tls-test-key";

    private TestCertificates certs;
    private EtcdProcess etcd;
    private ServerProcess node;
    private ServerProcess router;
    private JsonNode golden;

    @BeforeAll
    void start() throws Exception {
        certs = TestCertificates.create();
        etcd = EtcdProcess.start();
        node = ServerProcess.launch("serve", ServerProcess.freePort(), Map.of("XLLM_API_KEY", KEY), certs.context(false),
                "--ssl-certfile", certs.serverCert.toString(), "--ssl-keyfile", certs.serverKey.toString(),
                "--etcd", etcd.url(), "--node-name", "tls-a", "--threads", "1");
        node.awaitReady();
        router = ServerProcess.launch("router", ServerProcess.freePort(), Map.of("XLLM_API_KEY", KEY), null,
                "--etcd", etcd.url(), "--node-ca-certs", certs.serverCert.toString());
        golden = Http.JSON.readTree(Files.readString(ServerProcess.root().resolve("models/pycoder-22m/golden.json")));
    }

    @AfterAll
    void stop() throws Exception {
        for (ServerProcess p : new ServerProcess[] {router, node}) {
            if (p != null) {
                p.close();
            }
        }
        if (etcd != null) {
            etcd.close();
        }
        if (certs != null) {
            certs.close();
        }
    }

    @Test
    void theOpenAiClientGetsTheReferenceTextOverHttpsWithASelfSignedCertificate() throws Exception {
        assertTrue(node.baseUrl().startsWith("https://"));
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey(KEY).maxRetries(0)
                .sslSocketFactory(certs.context(false).getSocketFactory()).trustManager(certs.serverTrust()).build();
        JsonNode first = golden.get("cases").get(0);
        Completion c = client.completions().create(OpenAiClientTest.greedy(first.get("prompt").asText(), 32));
        assertEquals(first.get("greedy_text").asText(), c.choices().get(0).text());
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model("pycoder-22m")
                .addUserMessage("Write a function that adds two numbers.").maxCompletionTokens(16).temperature(0.0).build();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertTrue(!streamed.isEmpty(), "a streamed chat arrives over TLS");
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateOrSpeaksPlainHttpGetsNothing() {
        OpenAIClient untrusting = OpenAIOkHttpClient.builder().baseUrl(node.baseUrl()).apiKey(KEY).maxRetries(0).build();
        assertThrows(OpenAIIoException.class, () -> untrusting.models().list(), "the JDK's CAs do not vouch for a self-signed certificate");
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI http = URI.create("http://127.0.0.1:" + node.port + "/health");
        assertThrows(IOException.class, () -> plain.send(HttpRequest.newBuilder(http).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void theRouterReachesAnHttpsNodeTrustingItThroughNodeCaCerts() throws Exception {
        Await.until("the router to see the https node alive", Duration.ofSeconds(30), () -> {
            Http.Response r = Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY);
            return r.status() == 200 && r.json().get("nodes").size() == 1 && r.json().at("/nodes/0/alive").asBoolean();
        });
        JsonNode nodes = Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY).json().get("nodes");
        assertTrue(nodes.get(0).get("url").asText().startsWith("https://127.0.0.1:"), nodes.toString());
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(router.baseUrl()).apiKey(KEY).maxRetries(0).build();
        for (JsonNode c : golden.get("cases")) {
            Completion completion = client.completions().create(OpenAiClientTest.greedy(c.get("prompt").asText(), 32));
            assertEquals(c.get("greedy_text").asText(), completion.choices().get(0).text(), "prompt " + c.get("prompt"));
        }
    }

    @Test
    void withSslCaCertsOnlyAClientWithACertificateFromThatCaIsServed() throws Exception {
        try (ServerProcess mutual = ServerProcess.launch("serve", ServerProcess.freePort(), Map.of(), certs.context(true),
                "--ssl-certfile", certs.serverCert.toString(), "--ssl-keyfile", certs.serverKey.toString(),
                "--ssl-ca-certs", certs.clientCa.toString(), "--threads", "1")) {
            mutual.awaitReady();
            HttpClient withCertificate = HttpClient.newBuilder().sslContext(certs.context(true)).build();
            assertEquals(200, withCertificate.send(HttpRequest.newBuilder(mutual.uri("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
            HttpClient without = HttpClient.newBuilder().sslContext(certs.context(false)).build();
            assertThrows(IOException.class, () -> without.send(HttpRequest.newBuilder(mutual.uri("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
    }
}
