package xllm.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load against a running OpenAI-compatible server, after {@code vllm bench serve}: a fixed number of
 * workers (threads) send streaming {@code /v1/completions} of random token-id prompts and time
 * each chunk as it arrives. Reports throughput, TTFT, TPOT, inter-token latency, end-to-end latency, and
 * goodput and SLO attainment under optional SLOs; optionally with an offline job ({@link OfflineJob}) running
 * beside the online load. One call runs one benchmark; each request has a connection of its own ({@link StreamingPost}).
 */
public final class ServeBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PROBE_SEED = 0x5EED_0F_9A0BEL;
    private static final int MIN_TOKEN_ID = 100;
    private static final int MAX_TOKEN_ID = 8000;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration HEADERS_TIMEOUT = Duration.ofMinutes(10);
    private static final int ERRORS_KEPT = 5;

    /** One request's timings; {@code error} is null when it succeeded. */
    private record Outcome(double ttftMs, double e2eMs, double[] itlMs, int promptTokens, int outputTokens,
            String error) {
        static Outcome failed(String error) {
            return new Outcome(0, 0, new double[0], 0, 0, error);
        }

        double tpotMs() {
            return (e2eMs - ttftMs) / (outputTokens - 1);
        }
    }

    /**
     * One benchmark's load: {@code numPrompts} online requests of {@code inputLen} prompt tokens and
     * {@code outputLen} generated tokens, {@code concurrency} at a time; beside them an offline job of
     * {@code offlinePrompts} requests (of {@code inputLen} and {@code offlineOutputLen} tokens) when that is
     * positive.
     *
     * @param sloTtftMs goodput and SLO attainment count only requests whose TTFT is within this; null: no limit
     * @param sloTpotMs goodput and SLO attainment count only requests whose TPOT is within this; null: no limit
     * @param seed of the random prompts: runs of one seed send the same prompts, so a later run may find them in
     *     the server's prefix cache; runs of different seeds share nothing
     */
    public record Load(int concurrency, int numPrompts, int inputLen, int outputLen, Double sloTtftMs, Double sloTpotMs,
            int offlinePrompts, int offlineOutputLen, long seed) {
        public Load {
            if (concurrency < 1 || numPrompts < 1 || inputLen < 1 || outputLen < 1 || offlinePrompts < 0 || offlineOutputLen < 1) {
                throw new IllegalArgumentException("concurrency, prompts, input and output lengths must be positive,"
                        + " offline prompts at least 0");
            }
        }
    }

    private ServeBenchmark() {
    }

    /**
     * Runs {@code load} and returns vLLM-named results (times in ms), with {@code offline_*} results when it
     * has an offline job.
     *
     * @param url the server's base URL, or its completions endpoint
     * @param apiKey sent as a bearer token; null for none
     */
    public static Map<String, Object> run(URI url, Load load, String apiKey) {
        URI endpoint = url.getPath().endsWith("/completions") ? url : url.resolve("/v1/completions");
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT).build();
        String model = servedModel(client, endpoint.resolve("/v1/models"), apiKey);
        int numPrompts = load.numPrompts();
        List<byte[]> bodies = requestBodies(model, numPrompts, load.inputLen(), load.outputLen(), load.seed(), true);

        // a prompt of its own: one of the run's would be found in the prefix cache when its turn came
        Outcome probe = send(endpoint, apiKey,
                requestBodies(model, 1, load.inputLen(), load.outputLen(), load.seed() + PROBE_SEED, true).getFirst());
        if (probe.error() != null) {
            throw new IllegalStateException("the server at " + endpoint + " failed the first request: " + probe.error());
        }
        Outcome[] outcomes = new Outcome[numPrompts];
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        // Prompts of their own seed, so that the job's prefills are not the online run's cached ones.
        OfflineJob job = load.offlinePrompts() == 0 ? null : OfflineJob.submit(client, endpoint, apiKey,
                requestBodies(model, load.offlinePrompts(), load.inputLen(), load.offlineOutputLen(), ~load.seed(), false),
                load.offlineOutputLen());
        // Platform threads: a blocking socket read wakes its reader directly, with no poller hand-off per chunk.
        try (ExecutorService workers = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory())) {
            for (int w = 0; w < Math.min(load.concurrency(), numPrompts); w++) {
                workers.submit(() -> {
                    for (int i = next.getAndIncrement(); i < numPrompts; i = next.getAndIncrement()) {
                        outcomes[i] = send(endpoint, apiKey, bodies.get(i));
                    }
                });
            }
        }
        double durationS = (System.nanoTime() - start) / 1e9;
        Map<String, Object> r = summarize(outcomes, durationS, load.concurrency(), load.sloTtftMs(), load.sloTpotMs());
        if (job != null) {
            try {
                r.putAll(job.finish(durationS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while asking for the offline job", e);
            }
        }
        r.putAll(residentMemory(client, endpoint.resolve("/metrics")));
        return r;
    }

    /**
     * The server's resident memory by part after the run (weights, KV cache, the whole process), in MB, from its
     * {@code xllm:resident_memory_bytes} gauges; empty for a server without them (a router, another engine).
     */
    private static Map<String, Object> residentMemory(HttpClient client, URI metrics) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        try {
            String text = client.send(HttpRequest.newBuilder(metrics).timeout(HEADERS_TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^xllm:resident_memory_bytes\\{part=\"(\\w+)\"\\} ([0-9.eE+-]+)$")
                    .matcher(text);
            while (m.find()) {
                out.put("resident_" + m.group(1) + "_mb", Math.round(Double.parseDouble(m.group(2)) / (1 << 20)));
            }
        } catch (IOException e) {
            // the run's numbers stand without it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** The results as a table, in the layout of {@code vllm bench serve}. */
    public static String format(Map<String, Object> r) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%s%n", center(" Serving Benchmark Result ", '=')));
        row(out, "Successful requests:", r.get("completed"));
        row(out, "Failed requests:", r.get("failed"));
        row(out, "Maximum request concurrency:", r.get("max_concurrency"));
        row(out, "Benchmark duration (s):", r.get("duration"));
        row(out, "Total input tokens:", r.get("total_input_tokens"));
        row(out, "Total generated tokens:", r.get("total_output_tokens"));
        row(out, "Request throughput (req/s):", r.get("request_throughput"));
        if (r.get("request_goodput") != null) {
            row(out, "Request goodput (req/s):", r.get("request_goodput"));
            row(out, "SLO attainment (%):", r.get("slo_attainment"));
        }
        row(out, "Output token throughput (tok/s):", r.get("output_throughput"));
        row(out, "Total token throughput (tok/s):", r.get("total_token_throughput"));
        latency(out, r, "ttft", "TTFT", "Time to First Token");
        latency(out, r, "tpot", "TPOT", "Time per Output Token (excl. 1st token)");
        latency(out, r, "itl", "ITL", "Inter-token Latency");
        latency(out, r, "e2el", "E2EL", "End-to-end Latency");
        if (r.containsKey("offline_prompts")) {
            offline(out, r);
        }
        if (r.containsKey("resident_process_mb")) {
            out.append(String.format("%s%n", center("Server resident memory", '-')));
            row(out, "Weights (MB):", r.get("resident_weights_mb"));
            row(out, "KV cache (MB):", r.get("resident_kv_mb"));
            row(out, "Whole process (MB):", r.get("resident_process_mb"));
        }
        if (r.get("errors") instanceof List<?> errors && !errors.isEmpty()) {
            out.append(String.format("%s%n", center("Errors", '-')));
            errors.forEach(e -> out.append(e).append(System.lineSeparator()));
        }
        out.append("=".repeat(50)).append(System.lineSeparator());
        return out.toString();
    }

    private static String servedModel(HttpClient client, URI models, String apiKey) {
        try {
            HttpResponse<String> response = client.send(authorized(HttpRequest.newBuilder(models), apiKey)
                    .timeout(HEADERS_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("GET " + models + " answered " + response.statusCode() + ": "
                        + response.body());
            }
            return JSON.readTree(response.body()).path("data").path(0).path("id").asText(null);
        } catch (IOException e) {
            throw new IllegalStateException("cannot reach " + models + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking " + models, e);
        }
    }

    private static List<byte[]> requestBodies(String model, int numPrompts, int inputLen, int outputLen, long seed,
            boolean stream) {
        SplittableRandom random = new SplittableRandom(seed);
        List<byte[]> bodies = new ArrayList<>(numPrompts);
        for (int i = 0; i < numPrompts; i++) {
            ObjectNode body = JSON.createObjectNode();
            if (model != null) {
                body.put("model", model);
            }
            var prompt = body.putArray("prompt");
            for (int t = 0; t < inputLen; t++) {
                prompt.add(random.nextInt(MIN_TOKEN_ID, MAX_TOKEN_ID));
            }
            body.put("max_tokens", outputLen);
            body.put("ignore_eos", true);
            body.put("temperature", 0);
            if (stream) {
                body.put("stream", true);
                body.putObject("stream_options").put("include_usage", true);
            }
            bodies.add(body.toString().getBytes(StandardCharsets.UTF_8));
        }
        return bodies;
    }

    /** One streamed request, timed from sending to each chunk that carries text. */
    private static Outcome send(URI endpoint, String apiKey, byte[] body) {
        long start = System.nanoTime();
        try (StreamingPost response = StreamingPost.send(endpoint, apiKey, body, CONNECT_TIMEOUT, HEADERS_TIMEOUT);
                BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            if (response.status() != 200) {
                return Outcome.failed("HTTP " + response.status() + ": " + String.join("", reader.lines().toList()));
            }
            return readStream(reader, start);
        } catch (IOException e) {
            return Outcome.failed(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private static Outcome readStream(BufferedReader reader, long start) throws IOException {
        long first = -1;
        long last = -1;
        List<Double> gaps = new ArrayList<>();
        int chunks = 0;
        int promptTokens = 0;
        int outputTokens = -1;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            if (!line.startsWith("data:")) {
                continue;
            }
            String data = line.substring("data:".length()).strip();
            if (data.equals("[DONE]")) {
                break;
            }
            long now = System.nanoTime();
            JsonNode chunk = JSON.readTree(data);
            if (chunk.has("error")) {
                return Outcome.failed("stream error: " + chunk.get("error"));
            }
            JsonNode usage = chunk.get("usage");
            if (usage != null && !usage.isNull()) {
                promptTokens = usage.path("prompt_tokens").asInt();
                outputTokens = usage.path("completion_tokens").asInt();
            }
            if (!chunk.path("choices").path(0).path("text").asText("").isEmpty()) {
                if (first < 0) {
                    first = now;
                } else {
                    gaps.add((now - last) / 1e6);
                }
                last = now;
                chunks++;
            }
        }
        if (first < 0) {
            return Outcome.failed("the stream ended without any text");
        }
        double[] itl = gaps.stream().mapToDouble(Double::doubleValue).toArray();
        return new Outcome((first - start) / 1e6, (last - start) / 1e6, itl, promptTokens,
                outputTokens >= 0 ? outputTokens : chunks, null);
    }

    private static Map<String, Object> summarize(Outcome[] outcomes, double durationS, int concurrency,
            Double sloTtftMs, Double sloTpotMs) {
        List<Double> ttft = new ArrayList<>();
        List<Double> tpot = new ArrayList<>();
        List<Double> itl = new ArrayList<>();
        List<Double> e2e = new ArrayList<>();
        Set<String> errors = new LinkedHashSet<>();
        long inputTokens = 0;
        long outputTokens = 0;
        int completed = 0;
        int good = 0;
        for (Outcome o : outcomes) {
            if (o.error() != null) {
                if (errors.size() < ERRORS_KEPT) {
                    errors.add(o.error());
                }
                continue;
            }
            completed++;
            inputTokens += o.promptTokens();
            outputTokens += o.outputTokens();
            ttft.add(o.ttftMs());
            e2e.add(o.e2eMs());
            Arrays.stream(o.itlMs()).forEach(itl::add);
            if (o.outputTokens() > 1) {
                tpot.add(o.tpotMs());
            }
            boolean ttftOk = sloTtftMs == null || o.ttftMs() <= sloTtftMs;
            boolean tpotOk = sloTpotMs == null || o.outputTokens() <= 1 || o.tpotMs() <= sloTpotMs;
            good += ttftOk && tpotOk ? 1 : 0;
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("num_prompts", outcomes.length);
        r.put("max_concurrency", concurrency);
        r.put("duration", round(durationS));
        r.put("completed", completed);
        r.put("failed", outcomes.length - completed);
        r.put("total_input_tokens", inputTokens);
        r.put("total_output_tokens", outputTokens);
        r.put("request_throughput", round(completed / durationS));
        boolean slo = sloTtftMs != null || sloTpotMs != null;
        r.put("request_goodput", slo ? round(good / durationS) : null);
        r.put("slo_attainment", slo ? round(100.0 * good / outcomes.length) : null);
        r.put("output_throughput", round(outputTokens / durationS));
        r.put("total_token_throughput", round((inputTokens + outputTokens) / durationS));
        stats(r, "ttft", ttft);
        stats(r, "tpot", tpot);
        stats(r, "itl", itl);
        stats(r, "e2el", e2e);
        r.put("errors", List.copyOf(errors));
        return r;
    }

    private static void stats(Map<String, Object> r, String name, List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        r.put("mean_" + name + "_ms", round(Arrays.stream(sorted).average().orElse(0)));
        r.put("median_" + name + "_ms", round(percentile(sorted, 50)));
        r.put("p99_" + name + "_ms", round(percentile(sorted, 99)));
    }

    /** Linear interpolation between closest ranks, as numpy's default percentile. */
    private static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        double rank = p / 100 * (sorted.length - 1);
        int low = (int) Math.floor(rank);
        int high = Math.min(low + 1, sorted.length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }

    static HttpRequest.Builder authorized(HttpRequest.Builder request, String apiKey) {
        return apiKey == null ? request : request.header("Authorization", "Bearer " + apiKey);
    }

    private static void latency(StringBuilder out, Map<String, Object> r, String key, String label, String title) {
        out.append(String.format("%s%n", center(title, '-')));
        row(out, "Mean " + label + " (ms):", r.get("mean_" + key + "_ms"));
        row(out, "Median " + label + " (ms):", r.get("median_" + key + "_ms"));
        row(out, "P99 " + label + " (ms):", r.get("p99_" + key + "_ms"));
    }

    private static void offline(StringBuilder out, Map<String, Object> r) {
        out.append(String.format("%s%n", center("Offline Job", '-')));
        row(out, "Offline requests done:", r.get("offline_completed") + " of " + r.get("offline_prompts")
                + (r.get("offline_failed") instanceof Integer f && f > 0 ? " (" + f + " failed)" : ""));
        row(out, "Offline job completed:", Boolean.TRUE.equals(r.get("offline_job_completed")) ? "yes"
                : "no (still running; tokens of the requests done over the online run)");
        row(out, "Offline output tokens:", r.get("offline_output_tokens"));
        row(out, "Offline duration (s):", r.get("offline_duration"));
        row(out, "Offline token throughput (tok/s):", r.get("offline_throughput"));
        if (r.get("offline_error") != null) {
            row(out, "Offline job error:", r.get("offline_error"));
        }
    }

    private static void row(StringBuilder out, String label, Object value) {
        out.append(String.format("%-40s %s%n", label, value));
    }

    private static String center(String title, char fill) {
        int pad = Math.max(0, 50 - title.length());
        return String.valueOf(fill).repeat(pad / 2) + title + String.valueOf(fill).repeat(pad - pad / 2);
    }
}
