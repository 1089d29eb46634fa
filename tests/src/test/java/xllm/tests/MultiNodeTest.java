package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Several machines' worth of xllm on one: a real etcd, two nodes ({@code serve --etcd}) on their own ports and
 * two routers ({@code router --etcd}), every one a real process, all behind one API key. Killing and
 * restarting run in order, each test leaving the deployment whole for the next.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiNodeTest {
    private static final String KEY = "multi-node-test-key";
    private static final Duration STREAMS_LIMIT = Duration.ofMinutes(3);

    private EtcdProcess etcd;
    private ServerProcess nodeA;
    private ServerProcess nodeB;
    private ServerProcess router1;
    private ServerProcess router2;
    private JsonNode golden;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @BeforeAll
    void startDeployment() throws Exception {
        etcd = EtcdProcess.start();
        nodeA = startNode("a");
        nodeB = startNode("b");
        router1 = startRouter("r1");
        Await.until("r1 to become master", Duration.ofSeconds(30), () -> isMaster(router1));
        router2 = startRouter("r2");
        awaitAlive(router1, "a", "b");
        awaitAlive(router2, "a", "b");
        golden = Http.JSON.readTree(Files.readString(ServerProcess.root().resolve("models/pycoder-22m/golden.json")));
    }

    @AfterAll
    void stopDeployment() throws Exception {
        pool.shutdownNow();
        for (ServerProcess p : new ServerProcess[] {router1, router2, nodeA, nodeB}) {
            if (p != null) {
                p.close();
            }
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    @Order(1)
    void throughTheRouterTheOpenAiClientGetsTheReferenceGreedyText() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(router1.baseUrl()).apiKey(KEY).maxRetries(0).build();
        for (JsonNode c : golden.get("cases")) {
            Completion completion = client.completions().create(OpenAiClientTest.greedy(c.get("prompt").asText(), 32));
            assertEquals(c.get("greedy_text").asText(), completion.choices().get(0).text(), "prompt " + c.get("prompt"));
        }
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder().model("pycoder-22m")
                .addUserMessage("Write a function that adds two numbers.").maxCompletionTokens(24).temperature(0.0).build();
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(chat)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        String direct = Http.post(nodeB.uri("/v1/chat/completions"), chatBody(), "Authorization", "Bearer " + KEY)
                .json().at("/choices/0/message/content").asText();
        assertEquals(direct, streamed.toString(), "a streamed chat through the router is the node's own answer");
    }

    @Test
    @Order(2)
    void theRouterListsTheNodesAndWantsTheKey() {
        JsonNode nodes = Http.get(router1.uri("/admin/nodes"), "Authorization", "Bearer " + KEY).json().get("nodes");
        assertEquals(2, nodes.size(), nodes.toString());
        for (JsonNode n : nodes) {
            assertTrue(n.get("alive").asBoolean(), n.toString());
            assertEquals("mixed", n.get("role").asText());
            assertTrue(n.get("url").asText().startsWith("http://127.0.0.1:"), n.toString());
        }
        assertEquals(401, Http.post(router1.uri("/v1/completions"), completionBody("def f():", 4)).status());
        assertEquals(401, Http.post(nodeA.uri("/internal/generate"), "").status(), "a node's internal channel wants the key too");
        assertEquals(401, Http.get(router1.uri("/admin/nodes")).status());
    }

    @Test
    @Order(3)
    void aSharedPrefixGoesToTheNodeThatCachesIt() throws Exception {
        double byPrefix = Http.metric(router1, "xllm:router_routed_total", "by=\"prefix\"");
        for (ServerProcess holder : List.of(nodeA, nodeB)) {
            String name = holder == nodeA ? "a" : "b";
            String prefix = longPrompt(name);
            int before = cacheKeys(name);
            int routerBefore = routerCachedBlocks(router1, name);
            assertEquals(200, Http.post(holder.uri("/v1/completions"), completionBody(prefix, 1), "Authorization", "Bearer " + KEY).status());
            Await.until("node " + name + " to publish its cached prompt", Duration.ofSeconds(20), () -> cacheKeys(name) >= before + 8);
            Await.until("the router to see node " + name + "'s cached prompt, and the node alive", Duration.ofSeconds(20),
                    () -> routerCachedBlocks(router1, name) >= routerBefore + 8 && aliveNodes(router1).contains(name));
            JsonNode usage = Http.post(router1.uri("/v1/completions"), completionBody(prefix + "def tail():", 4),
                    "Authorization", "Bearer " + KEY).json().get("usage");
            int cached = usage.at("/prompt_tokens_details/cached_tokens").asInt();
            assertTrue(cached >= 8 * 16, "the router sent the prompt to node " + name + ", which had " + cached + " of its tokens cached: " + usage);
        }
        assertTrue(Http.metric(router1, "xllm:router_routed_total", "by=\"prefix\"") >= byPrefix + 2);
    }

    @Test
    @Order(4)
    void killingANodeMidStreamLeavesEveryStreamIntact() throws Exception {
        List<String> prompts = streamPrompts();
        List<Future<Stream>> streams = startStreams(router1, prompts);
        Await.until("every stream to have tokens", Duration.ofSeconds(60), () -> Stream.started(streams) == prompts.size());
        nodeA.kill();
        List<Stream> got = new ArrayList<>();
        for (Future<Stream> f : streams) {
            got.add(Await.result("a stream through the router", STREAMS_LIMIT, f));
        }
        List<String> reference = referenceTexts(nodeB, prompts);
        double worstStall = 0;
        for (int i = 0; i < prompts.size(); i++) {
            assertEquals(reference.get(i), got.get(i).text(), "stream " + i + " lost or repeated a token");
            worstStall = Math.max(worstStall, got.get(i).longestGapSeconds());
        }
        System.out.printf("multi-node: longest gap between tokens of 8 streams at a node kill: %.3f s%n", worstStall);
        assertTrue(Http.metric(router1, "xllm:router_resumed_total") >= 1, "some stream was on the killed node");
        nodeA = startNode("a");
        awaitAlive(router1, "a", "b");
        awaitAlive(router2, "a", "b");
    }

    @Test
    @Order(5)
    void aNodeThatHangsIsLeftAndItsStreamsMoveOn() throws Exception {
        List<String> prompts = streamPrompts();
        double resumed = Http.metric(router1, "xllm:router_resumed_total");
        List<Future<Stream>> streams = startStreams(router1, prompts);
        Await.until("every stream to have tokens", Duration.ofSeconds(60), () -> Stream.started(streams) == prompts.size());
        signal(nodeA, "STOP");
        try {
            List<String> reference = referenceTexts(nodeB, prompts);
            double worstStall = 0;
            for (int i = 0; i < prompts.size(); i++) {
                Stream got = Await.result("a stream through the router", STREAMS_LIMIT, streams.get(i));
                assertEquals(reference.get(i), got.text(), "stream " + i + " across the hung node");
                worstStall = Math.max(worstStall, got.longestGapSeconds());
            }
            System.out.printf("multi-node: longest gap between tokens of 8 streams when a node hangs: %.3f s%n", worstStall);
            assertTrue(Http.metric(router1, "xllm:router_resumed_total") > resumed, "some stream was on the hung node");
            assertEquals(List.of("b"), aliveNodes(router1), "a node that does not answer its probe takes no requests");
        } finally {
            signal(nodeA, "CONT");
        }
        awaitAlive(router1, "a", "b");
        awaitAlive(router2, "a", "b");
    }

    @Test
    @Order(6)
    void restartingEtcdMidTrafficLosesNothing() throws Exception {
        List<String> prompts = streamPrompts();
        List<Future<Stream>> streams = startStreams(router2, prompts);
        Await.until("every stream to have tokens", Duration.ofSeconds(60), () -> Stream.started(streams) == prompts.size());
        etcd.kill();
        Thread.sleep(4000); // longer than a lease: a rebuilt etcd knows none of them
        etcd.restart(true);
        List<String> reference = referenceTexts(nodeB, prompts);
        for (int i = 0; i < prompts.size(); i++) {
            assertEquals(reference.get(i), Await.result("a stream through the router", STREAMS_LIMIT, streams.get(i)).text(),
                    "stream " + i + " across the etcd restart");
        }
        Await.until("the nodes and a master to register again", Duration.ofSeconds(30), () -> etcd.keys("XLLM:MIX:").size() == 2
                && etcd.value("XLLM:SERVICE:MASTER") != null);
        awaitAlive(router1, "a", "b");
        JsonNode first = golden.get("cases").get(0);
        assertEquals(first.get("greedy_text").asText(), Http.post(router1.uri("/v1/completions"),
                completionBody(first.get("prompt").asText(), 32), "Authorization", "Bearer " + KEY).json().at("/choices/0/text").asText());
    }

    @Test
    @Order(7)
    void killingTheMasterRouterHandsMastershipToTheStandby() throws Exception {
        Await.until("one router to be master", Duration.ofSeconds(30), () -> isMaster(router1) != isMaster(router2));
        ServerProcess master = isMaster(router1) ? router1 : router2;
        ServerProcess standby = master == router1 ? router2 : router1;
        String standbyName = standby == router1 ? "r1" : "r2";
        master.kill();
        long killed = System.nanoTime();
        Await.until("the standby to take over", Duration.ofSeconds(20), () -> isMaster(standby));
        System.out.printf("multi-node: the standby router became master %.1f s after the master was killed%n",
                (System.nanoTime() - killed) / 1e9);
        assertEquals(standbyName, etcd.value("XLLM:SERVICE:MASTER"));
        assertEquals(200, Http.post(standby.uri("/v1/completions"), completionBody("def f():", 4), "Authorization", "Bearer " + KEY).status());
    }

    // ---- the deployment ----

    private ServerProcess startNode(String name) throws Exception {
        ServerProcess node = ServerProcess.start("--etcd", etcd.url(), "--node-name", name, "--api-key", KEY, "--threads", "1");
        node.awaitReady();
        return node;
    }

    private ServerProcess startRouter(String name) throws Exception {
        return ServerProcess.startRouter("--etcd", etcd.url(), "--router-name", name, "--api-key", KEY);
    }

    private void awaitAlive(ServerProcess router, String... names) throws InterruptedException {
        Await.until(router.port + " to see nodes " + Arrays.toString(names) + " alive", Duration.ofSeconds(30), () -> {
            Http.Response r = Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY);
            if (r.status() != 200) {
                return false;
            }
            return aliveNodes(router).containsAll(Arrays.asList(names));
        });
    }

    private static List<String> aliveNodes(ServerProcess router) {
        List<String> names = new ArrayList<>();
        for (JsonNode n : Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY).json().get("nodes")) {
            if (n.get("alive").asBoolean()) {
                names.add(n.get("name").asText());
            }
        }
        return names;
    }

    /** Sends a signal to a node's process: STOP freezes it as a hung machine would, CONT lets it go on. */
    private static void signal(ServerProcess node, String signal) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(node.process.pid())).start().waitFor());
    }

    private static boolean isMaster(ServerProcess router) {
        try {
            return Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY).json().get("master").asBoolean();
        } catch (RuntimeException down) {
            return false;
        }
    }

    /** The blocks {@code router}'s copy of the global index lists on {@code node}, from {@code /admin/nodes}. */
    private static int routerCachedBlocks(ServerProcess router, String node) {
        for (JsonNode n : Http.get(router.uri("/admin/nodes"), "Authorization", "Bearer " + KEY).json().get("nodes")) {
            if (n.get("name").asText().equals(node)) {
                return n.get("cached_blocks").asInt();
            }
        }
        return 0;
    }

    private int cacheKeys(String node) {
        return (int) etcd.keys("XLLM:CACHE:").stream().filter(k -> k.endsWith(":" + node)).count();
    }

    // ---- requests ----

    private static String completionBody(String prompt, int maxTokens) {
        return Http.JSON.createObjectNode().put("model", "pycoder-22m").put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).toString();
    }

    private static String chatBody() {
        return """
                {"model":"pycoder-22m","messages":[{"role":"user","content":"Write a function that adds two numbers."}],
                 "max_completion_tokens":24,"temperature":0}""";
    }

    /** A prompt of well over ten 16-token blocks, different per {@code tag}. */
    private static String longPrompt(String tag) {
        StringBuilder b = new StringBuilder("# module " + tag + "\n");
        for (int i = 0; i < 12; i++) {
            b.append("def helper_").append(tag).append('_').append(i).append("(values, scale=").append(i).append("):\n")
                    .append("    return [v * scale for v in values]\n\n");
        }
        return b.toString();
    }

    private static List<String> streamPrompts() {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            prompts.add("def function_" + i + "(x):");
        }
        return prompts;
    }

    private static String streamBody(String prompt) {
        return Http.JSON.createObjectNode().put("model", "pycoder-22m").put("prompt", prompt).put("max_tokens", 120)
                .put("temperature", 0).put("ignore_eos", true).put("stream", true).toString();
    }

    /** Each prompt's text as one node alone writes it, the streams' reference. */
    private List<String> referenceTexts(ServerProcess node, List<String> prompts) throws Exception {
        List<String> out = new ArrayList<>();
        for (Future<Stream> f : startStreams(node, prompts)) {
            out.add(Await.result("a reference stream", STREAMS_LIMIT, f).text());
        }
        return out;
    }

    private List<Future<Stream>> startStreams(ServerProcess server, List<String> prompts) {
        List<Future<Stream>> out = new ArrayList<>();
        for (String p : prompts) {
            Stream s = new Stream();
            out.add(pool.submit(() -> s.read(server, streamBody(p))));
            Stream.track(out.getLast(), s);
        }
        return out;
    }

    /** One streamed completion as a client sees it: its text, and the longest wait between two chunks. */
    static final class Stream {
        private static final java.util.Map<Future<Stream>, Stream> LIVE = new java.util.concurrent.ConcurrentHashMap<>();
        private final StringBuilder text = new StringBuilder();
        private volatile int chunks;
        private double longestGapSeconds;

        static void track(Future<Stream> f, Stream s) {
            LIVE.put(f, s);
        }

        static int started(List<Future<Stream>> streams) {
            int n = 0;
            for (Future<Stream> f : streams) {
                Stream s = LIVE.get(f);
                if (s != null && s.chunks > 0) {
                    n++;
                }
            }
            return n;
        }

        Stream read(ServerProcess server, String body) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(server.uri("/v1/completions")).header("Content-Type", "application/json")
                    .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build();
            HttpResponse<java.io.InputStream> response = Http.CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            long last = 0;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (!line.startsWith("data: ") || line.equals("data: [DONE]")) {
                        continue;
                    }
                    long now = System.nanoTime();
                    if (last != 0) {
                        longestGapSeconds = Math.max(longestGapSeconds, (now - last) / 1e9);
                    }
                    last = now;
                    text.append(Http.JSON.readTree(line.substring(6)).at("/choices/0/text").asText());
                    chunks++;
                }
            }
            return this;
        }

        String text() {
            return text.toString();
        }

        double longestGapSeconds() {
            return longestGapSeconds;
        }
    }
}
