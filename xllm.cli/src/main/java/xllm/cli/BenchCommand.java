package xllm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.kernel.Gemm;
import xllm.engine.model.ModelConfig;
import xllm.sched.ResidentMemory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import xllm.cli.bench.MoeBenchmark;
import xllm.cli.bench.SpeculativeBenchmark;
import xllm.cli.bench.Workload;
import xllm.engine.spec.SpeculativeConfig;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCore;
import xllm.engine.scheduler.RequestMetrics;
import xllm.engine.scheduler.SchedulerConfig;

/**
 * {@code xllm bench offline}: prefill and decode throughput of the engine itself, no HTTP. Prefill runs
 * one prompt of {@code --prompt-len} tokens; decode runs {@code --gen-len} steps for each batch size
 * (sequences start from an 8-token prompt). Both run the serving step ({@link EngineCore}): scheduling, the
 * forward pass, sampling and stop rules. Each figure is the median of {@code --repeats} runs.
 */
final class BenchCommand {
    static final String USAGE = """
            usage: xllm bench offline [--model DIR|FILE.gguf] [--quantization q8_0|q4_0] [--batch 1,8,32] [--prompt-len 512]
                                      [--gen-len 128] [--repeats 3] [--threads N] [--activations f32|bf16] [--kv-cache-dtype f16|f32] [--output text|json]
                                      [--workload completion|editing] [--speculative-config JSON | '[JSON, JSON, ...]']
                     with --workload or --speculative-config: decode speed on the workload's prompts without speculation
                     and with each configuration given, alternating, with acceptance rate and mean acceptance length
                   xllm bench serve --url URL [--concurrency C] [--num-prompts N] [--input-len I] [--output-len O]
                                    [--slo-ttft-ms MS] [--slo-tpot-ms MS] [--offline-prompts N [--offline-output-len M]]
                                    [--api-key-file FILE] [--output text|json] [--seed S]   (or the key in XLLM_API_KEY)
                     with SLOs: goodput and the share of requests meeting both (slo_attainment, %); with
                     --offline-prompts: one offline job (POST /v1/jobs) beside the online load, and its tokens/s;
                     runs of one --seed (default 0) send the same random prompts, of different seeds none in common
                   xllm bench membw [--mb 512] [--threads N]
                   xllm bench peak [--ms 300] [--threads N]
                     the machine's ceilings: fp32 FMA, bf16 dot and int8 dot throughput, one thread and all of them
                   xllm bench grammar [--model DIR] (--schema FILE | --regex RE | --grammar FILE.gbnf) [--walks 20] [--tokens 256] [--seed 1]
                     compile time and per-token mask time p50/p99 over the model's vocabulary
                   xllm bench moe --model DIR [--slots N]""";

    private static final int DECODE_PROMPT = 8;
    /**
     * Warm-up rounds at least, each running every timed shape as long as it is timed, and then more until
     * {@link #QUIET_ROUNDS} in a row compile for under {@link #QUIET_SHARE} of their time (or
     * {@link #WARM_UP_LIMIT_NANOS} has passed). With three rounds of 48 steps per batch size, an MoE model's
     * attention reached C2's invocation threshold only as the first timed shape began, which then shared the 2
     * cores with its compilation and ran 30-40% slower than when timed last (qwen3-moe-small Q8_0 batch 1 on a
     * Zen 5: 87-101 against 162-178 tok/s).
     */
    private static final int WARM_UP_ROUNDS = 3;
    private static final int QUIET_ROUNDS = 2;
    private static final double QUIET_SHARE = 0.05;
    private static final long WARM_UP_LIMIT_NANOS = 30_000_000_000L;

    private BenchCommand() {
    }

    static int run(String[] argv) throws java.io.IOException {
        if (argv.length >= 2 && argv[1].equals("membw")) {
            return MemoryBandwidth.run(argv);
        }
        if (argv.length >= 2 && argv[1].equals("peak")) {
            return PeakRates.run(argv);
        }
        if (argv.length >= 2 && argv[1].equals("moe")) {
            Args args = Args.parse("bench moe", argv, 2, Set.of("--model", "--slots"), Set.of());
            if (!args.has("--model")) {
                throw new UsageException("bench moe needs --model DIR (a Qwen3-MoE or DeepSeek-V3 directory)");
            }
            int slots = args.integer("--slots", 0);
            Path dir = LoadedModel.resolveDirectory(args);
            System.out.print(MoeBenchmark.run(dir, slots > 0 ? slots : expertCount(dir)));
            return 0;
        }
        if (argv.length >= 2 && argv[1].equals("grammar")) {
            return GrammarBench.run(argv);
        }
        if (argv.length >= 2 && argv[1].equals("serve")) {
            return ServeBenchCommand.run(argv);
        }
        if (argv.length < 2 || !argv[1].equals("offline")) {
            throw new UsageException("bench needs a mode: bench offline | bench serve | bench membw | bench peak | bench moe | bench grammar");
        }
        Args args = Args.parse("bench offline", argv, 2,
                Set.of("--model", "--batch", "--prompt-len", "--gen-len", "--repeats", "--threads", "--output", "--kv-cache-mb",
                        "--quantization", "--activations", "--kv-cache-dtype", "--workload", "--speculative-config"), Set.of());
        int[] batches = args.has("--batch") ? args.integers("--batch") : new int[] {1, 8, 32};
        int promptLen = args.integer("--prompt-len", 512);
        int genLen = args.integer("--gen-len", 128);
        int repeats = args.integer("--repeats", 3);
        if (promptLen < 1 || genLen < 1 || repeats < 1 || Arrays.stream(batches).anyMatch(b -> b < 1)) {
            throw new UsageException("--batch, --prompt-len, --gen-len and --repeats must be positive");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        try (LoadedModel loaded = LoadedModel.open(dir, GenerateCommand.threads(args), GenerateCommand.kvBytes(args), LoadedModel.quantization(args),
                LoadedModel.activations(args), LoadedModel.kvDtype(args))) {
            int maxPositions = loaded.model.config().maxPositions();
            if (promptLen >= maxPositions || DECODE_PROMPT + genLen >= maxPositions) {
                throw new UsageException("--prompt-len and --gen-len must fit the model's context of " + maxPositions);
            }
            if (args.has("--workload") || args.has("--speculative-config")) {
                return speculative(args, loaded, batches, genLen, repeats);
            }
            ModelRunner runner = loaded.runner;
            int maxBatch = Arrays.stream(batches).max().orElseThrow();
            int blocksNeeded = Math.max(blocks(promptLen + 1, runner), maxBatch * blocks(DECODE_PROMPT + genLen + 1, runner));
            if (blocksNeeded > runner.numBlocks()) {
                throw new UsageException("the KV cache is too small for this benchmark (" + runner.numBlocks() + " blocks, "
                        + blocksNeeded + " needed): raise --kv-cache-mb");
            }
            // the serving step itself: every prompt in one chunk, every decoding sequence in one step
            EngineCore core = new EngineCore(runner, new SchedulerConfig(Math.max(promptLen, DECODE_PROMPT * maxBatch), maxBatch, 0, true),
                    new int[0], RequestMetrics.NONE, null);
            SplittableRandom random = new SplittableRandom(42);
            int vocab = runner.vocabSize();
            // warm-up: run every timed shape (the full prompt and each batch size) until the JIT has compiled
            // it with full optimization; a shape first seen while timed would deoptimize hot methods and time
            // their recompilation, which competes with the engine for the cores
            JitActivity jit = new JitActivity(QUIET_SHARE, QUIET_ROUNDS);
            long deadline = System.nanoTime() + WARM_UP_LIMIT_NANOS;
            for (int round = 0; round < WARM_UP_ROUNDS || !jit.settled() && System.nanoTime() < deadline; round++) {
                jit.roundBegins();
                prefill(core, randomTokens(random, vocab, promptLen));
                for (int b : batches) {
                    decode(core, random, vocab, b, genLen);
                }
                jit.roundEnded();
            }

            double[] prefillRuns = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                prefillRuns[r] = promptLen / prefill(core, randomTokens(random, vocab, promptLen));
            }
            Map<String, Double> decodeTokS = new LinkedHashMap<>();
            for (int b : batches) {
                double[] runs = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    runs[r] = (double) b * genLen / decode(core, random, vocab, b, genLen);
                }
                decodeTokS.put(Integer.toString(b), round(median(runs)));
            }
            double prefillTokS = median(prefillRuns);
            double weightGb = DecodeWeightBytes.of(dir, loaded.model.config(), LoadedModel.quantization(args)) / 1e9;
            Double batch1 = decodeTokS.get("1");
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("prefill_tok_s", round(prefillTokS));
            result.put("decode_tok_s", decodeTokS);
            result.put("peak_rss_mb", peakRssMb());
            result.put("resident_weights_mb", ResidentMemory.ofWeights(dir) >> 20);
            result.put("resident_kv_mb", core.kvResidentBytes() >> 20);
            result.put("reserved_kv_mb", loaded.runner.arena().byteSize() >> 20);
            result.put("decode_gbps", batch1 == null ? null : round(batch1 * weightGb));
            result.put("alloc_bytes_per_step", allocatedPerStep);
            if (args.string("--output", "text").equals("json")) {
                System.out.println(Json.line(result));
            } else {
                System.out.printf("model %s, %d threads, %s kernels, %s KV cache%n", dir, loaded.pool.threads(), Gemm.kernels(),
                        loaded.runner.kvDtype().name().toLowerCase(Locale.ROOT));
                System.out.printf("prefill (%d tokens): %.1f tok/s%n", promptLen, prefillTokS);
                decodeTokS.forEach((b, v) -> System.out.printf("decode batch %s (%d steps): %.1f tok/s aggregate%n", b, genLen, v));
                System.out.printf("engine thread allocated %d bytes per decode step (last batch size)%n", allocatedPerStep);
                System.out.printf("peak RSS %d MB; batch-1 decode reads %.2f GB/s of weights%n",
                        result.get("peak_rss_mb"), batch1 == null ? 0.0 : batch1 * weightGb);
                System.out.printf("resident now: weights %d MB (mapped from the model files, or repacked), KV cache %d MB of %d MB reserved%n",
                        result.get("resident_weights_mb"), result.get("resident_kv_mb"), result.get("reserved_kv_mb"));
            }
        }
        return 0;
    }

    /** {@code bench offline --workload/--speculative-config}: decode speed per method and batch size, beside none. */
    private static int speculative(Args args, LoadedModel loaded, int[] batches, int genLen, int repeats) {
        if (loaded.tokenizer == null) {
            throw new UsageException("--workload needs a model with a tokenizer");
        }
        Workload workload;
        try {
            workload = Workload.parse(args.string("--workload", "completion"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--workload: " + e.getMessage());
        }
        List<SpeculativeConfig> methods = speculativeConfigs(args.string("--speculative-config", "[]"));
        int maxBatch = Arrays.stream(batches).max().orElseThrow();
        List<int[]> prompts = workload.prompts(loaded.tokenizer, maxBatch);
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (longest + genLen >= loaded.model.config().maxPositions()) {
            throw new UsageException("--gen-len " + genLen + " does not fit the model's context of " + loaded.model.config().maxPositions()
                    + " after prompts of up to " + longest + " tokens");
        }
        if (maxBatch * blocks(longest + genLen + 64, loaded.runner) > loaded.runner.numBlocks()) {
            throw new UsageException("the KV cache is too small for batch " + maxBatch + " on this workload: raise --kv-cache-mb");
        }
        List<SpeculativeBenchmark.Result> results;
        try {
            results = new SpeculativeBenchmark(loaded.runner, loaded.pool, GenerateCommand.kvBytes(args) / 2)
                    .run(prompts, methods, batches, genLen, repeats);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--speculative-config: " + e.getMessage());
        }
        if (args.string("--output", "text").equals("json")) {
            for (SpeculativeBenchmark.Result r : results) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("workload", workload.spelling());
                line.put("method", r.method());
                line.put("batch", r.batch());
                line.put("decode_tok_s", round(r.decodeTokS()));
                line.put("acceptance_rate", Math.round(r.acceptanceRate() * 1000) / 1000.0);
                line.put("mean_acceptance_length", Math.round(r.meanAcceptanceLength() * 100) / 100.0);
                line.put("greedy_output_identical", r.identical());
                System.out.println(Json.line(line));
            }
            return 0;
        }
        System.out.printf("model %s, %d threads, %s kernels; workload %s, %d tokens per sequence, median of %d rounds%n",
                loaded.dir, loaded.pool.threads(), Gemm.kernels(), workload.spelling(), genLen, repeats);
        System.out.printf("%-12s %6s %12s %9s %11s %11s %10s%n", "method", "batch", "decode tok/s", "vs none", "acceptance",
                "mean accept", "identical");
        Map<Integer, Double> none = new LinkedHashMap<>();
        for (SpeculativeBenchmark.Result r : results) {
            none.putIfAbsent(r.batch(), r.decodeTokS());
            System.out.printf("%-12s %6d %12.1f %8.2fx %10.1f%% %11.2f %10s%n", r.method(), r.batch(), r.decodeTokS(),
                    r.decodeTokS() / none.get(r.batch()), r.acceptanceRate() * 100, r.meanAcceptanceLength(), r.identical() ? "yes" : "NO");
        }
        return 0;
    }

    /** One configuration (a JSON object) or several (a JSON array of them). */
    private static List<SpeculativeConfig> speculativeConfigs(String json) {
        try {
            JsonNode root = new ObjectMapper().readTree(json);
            List<SpeculativeConfig> configs = new ArrayList<>();
            if (root != null && root.isArray()) {
                for (JsonNode n : root) {
                    configs.add(SpeculativeConfig.parse(n.toString()));
                }
            } else {
                configs.add(SpeculativeConfig.parse(json));
            }
            return configs;
        } catch (IllegalArgumentException | JsonProcessingException e) {
            throw new UsageException("--speculative-config: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** Slots for expert placement by default: the routed experts plus a quarter again for replicas. */
    private static int expertCount(Path dir) {
        int experts = ModelConfig.load(dir).routedExperts();
        if (experts <= 0) {
            throw new UsageException(dir + " is not a mixture-of-experts model");
        }
        return experts + Math.max(1, experts / 4);
    }

    /** Seconds for the engine step that prefills {@code prompt} as one chunk and samples its first token. */
    private static double prefill(EngineCore core, int[] prompt) {
        core.submit(greedy(prompt, 1), NOTHING_EMITTED, DISCARD, System.nanoTime());
        long start = System.nanoTime();
        core.step();
        double seconds = (System.nanoTime() - start) / 1e9;
        ranToTheEnd(core);
        return seconds;
    }

    /** Heap bytes the engine thread allocated per decode step in the last {@link #decode} run. */
    private static long allocatedPerStep;

    /**
     * Seconds for {@code steps} engine steps that decode {@code batchSize} greedy sequences together, after one
     * step that prefilled their {@value #DECODE_PROMPT}-token prompts.
     */
    private static double decode(EngineCore core, SplittableRandom random, int vocab, int batchSize, int steps) {
        for (int s = 0; s < batchSize; s++) {
            core.submit(greedy(randomTokens(random, vocab, DECODE_PROMPT), steps + 1), NOTHING_EMITTED, DISCARD, System.nanoTime());
        }
        core.step();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            core.step();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        allocatedPerStep = (threads.getCurrentThreadAllocatedBytes() - allocatedBefore) / steps;
        ranToTheEnd(core);
        return seconds;
    }

    private static long requests;
    private static final int[] NOTHING_EMITTED = new int[0];
    private static final TokenSink DISCARD = new TokenSink() {
        @Override
        public void onToken(int tokenId, Logprobs logprobs) {
        }

        @Override
        public void onFinish(FinishReason reason, Usage usage) {
        }
    };

    private static GenerateRequest greedy(int[] prompt, int maxTokens) {
        return new GenerateRequest("bench-" + requests++, prompt, SamplingParams.builder().temperature(0).maxTokens(maxTokens)
                .ignoreEos(true).build(), 0, -1);
    }

    /** Every timed sequence must have ended with its last step: a shorter run would have timed something else. */
    private static void ranToTheEnd(EngineCore core) {
        if (core.hasWork()) {
            throw new IllegalStateException("a benchmark sequence outlived its steps");
        }
    }

    private static int blocks(int tokens, ModelRunner runner) {
        return (tokens + runner.blockSize() - 1) / runner.blockSize();
    }

    private static int[] randomTokens(SplittableRandom random, int vocab, int n) {
        return random.ints(n, 0, vocab).toArray();
    }

    private static double median(double[] runs) {
        double[] sorted = runs.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /** Peak resident set (VmHWM) of this process, in MB; 0 where /proc is unavailable. */
    private static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
