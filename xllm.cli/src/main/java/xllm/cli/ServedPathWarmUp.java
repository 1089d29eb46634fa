package xllm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import xllm.cli.bench.StreamingPost;
import xllm.http.ServerOptions;

/**
 * What {@code serve} sends through its own HTTP server before it reports healthy: a few rounds of completions and
 * chat completions, streamed and not, greedy and sampled, from concurrent clients, so that the serving path
 * (parsing, tokenizing, chat templates, detokenizing, JSON and SSE writing) is compiled before the first user's
 * request, as the engine's kernels are by its own warm-up. Plain HTTP over loopback; a TLS server is not warmed
 * this way (its certificate need not be one this process trusts).
 *
 * <p>It first reads {@code /metrics}, as a monitoring scrape would: the first scrape loads what the metrics need, and
 * a class loaded that late can send compiled code back to be compiled again, which should happen now rather than
 * under the first users' load.
 *
 * <p>Then it settles the JIT: rounds of eight concurrent streams and of one stream, until two rounds in a row
 * compile for under {@link #QUIET_SHARE} of their time, or {@link #SETTLE_LIMIT} has passed. Without them the
 * compiler was still promoting the step's methods to C2 for the first thousands of steps after {@code /health}: a C2
 * thread took 0.4 s of CPU in a 3.4 s one-stream run and 1.9 s in a 6.4 s eight-stream one on 2 cores of a Zen 5,
 * and the same runs after a long load went 27-50% faster. On pycoder-22m a round took 535 ms at first and 330-370 ms
 * after 10 s.
 */
final class ServedPathWarmUp {
    private static final int CLIENTS = 8;
    private static final int ROUNDS = 3;
    private static final int MAX_TOKENS = 24;
    /** Tokens per request of the settling rounds: long enough for the step's batch to hold while it runs. */
    private static final int SETTLE_TOKENS = 64;
    private static final double QUIET_SHARE = 0.1;
    private static final int QUIET_ROUNDS = 2;
    /** -Dxllm.warmUp.settleSeconds=0 skips the settling rounds (a server started only to be tested, say). */
    private static final Duration SETTLE_LIMIT = Duration.ofSeconds(Long.getLong("xllm.warmUp.settleSeconds", 10));
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String PROMPT = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ServedPathWarmUp() {
    }

    /** Sends the warm-up to the server on {@code port}; false (with the reason on stderr) when a request failed. */
    static boolean run(ServerOptions options, int port) throws InterruptedException {
        if (options.tls() != null) {
            return true;
        }
        String host = options.host().equals("0.0.0.0") || options.host().equals("::") ? "127.0.0.1" : options.host();
        URI base = URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
        int sent;
        try {
            scrapeMetrics(base, options.apiKey());
        } catch (IOException e) {
            System.err.println("xllm: warming up the serving path failed (" + e.getMessage() + "); serving anyway");
            return false;
        }
        try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS, Thread.ofPlatform().daemon().factory())) {
            // every endpoint and kind of request, from concurrent clients
            if (!inParallel(clients, client -> {
                for (int round = 0; round < ROUNDS; round++) {
                    send(base, options.apiKey(), client, round, MAX_TOKENS);
                }
            })) {
                return false;
            }
            sent = CLIENTS * ROUNDS;
            JitActivity jit = new JitActivity(QUIET_SHARE, QUIET_ROUNDS);
            long deadline = System.nanoTime() + SETTLE_LIMIT.toNanos();
            while (!jit.settled() && System.nanoTime() < deadline) {
                jit.roundBegins();
                int round = sent;
                if (!inParallel(clients, client -> send(base, options.apiKey(), client, round, SETTLE_TOKENS))) {
                    return false;
                }
                send(base, options.apiKey(), 0, round + CLIENTS, SETTLE_TOKENS);
                sent += CLIENTS + 1;
                jit.roundEnded();
            }
            System.err.println("xllm: warmed up the serving path with " + sent + " requests"
                    + (jit.settled() || SETTLE_LIMIT.isZero() ? "" : " (the JIT still compiling after " + SETTLE_LIMIT.toSeconds() + " s)"));
        } catch (IOException e) {
            System.err.println("xllm: warming up the serving path failed (" + e.getMessage() + "); serving anyway");
            return false;
        }
        return true;
    }

    /** One GET of {@code /metrics}. */
    private static void scrapeMetrics(URI base, String apiKey) throws IOException, InterruptedException {
        try (HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build()) {
            HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/metrics")).timeout(TIMEOUT).GET();
            if (apiKey != null) {
                request.header("Authorization", "Bearer " + apiKey);
            }
            HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("/metrics answered " + response.statusCode() + ": " + response.body());
            }
        }
    }

    /** What each of the {@link #CLIENTS} clients sends. */
    private interface ClientWork {
        void run(int client) throws IOException;
    }

    /** Runs {@code work} on every client at once; false (with the reason on stderr) when a request failed. */
    private static boolean inParallel(ExecutorService clients, ClientWork work) throws InterruptedException {
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            done.add(clients.submit(() -> {
                work.run(client);
                return null;
            }));
        }
        for (Future<?> f : done) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                System.err.println("xllm: warming up the serving path failed (" + e.getCause().getMessage() + "); serving anyway");
                return false;
            }
        }
        return true;
    }

    /** One request; which endpoint, streamed or not and how sampled goes by client and round, so all are covered. */
    private static void send(URI base, String apiKey, int client, int round, int maxTokens) throws IOException {
        int kind = (client + round) % 4;
        boolean chat = kind >= 2;
        boolean stream = kind % 2 == 0;
        // a prompt of its own per request: each one is tokenized and prefilled, not found in the prefix cache
        String prompt = "# " + client + "." + round + "\n" + PROMPT;
        ObjectNode request = JSON.createObjectNode();
        if (chat) {
            request.putArray("messages").addObject().put("role", "user").put("content", prompt);
        } else {
            request.put("prompt", prompt);
        }
        request.put("max_tokens", maxTokens).put("ignore_eos", true);
        if ((client + round) % 3 == 0) {
            request.put("temperature", 0.8).put("top_p", 0.95).put("seed", client);
        } else {
            request.put("temperature", 0);
        }
        if (stream) {
            request.put("stream", true);
        }
        byte[] body = JSON.writeValueAsBytes(request);
        URI endpoint = base.resolve(chat ? "/v1/chat/completions" : "/v1/completions");
        try (StreamingPost response = StreamingPost.send(endpoint, apiKey, body, TIMEOUT, TIMEOUT)) {
            InputStream in = response.body();
            byte[] answer = in.readAllBytes();
            if (response.status() != 200) {
                throw new IOException(endpoint.getPath() + " answered " + response.status() + ": "
                        + new String(answer, StandardCharsets.UTF_8));
            }
        }
    }
}
