package xllm.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.agrona.collections.IntArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;

/**
 * Continuous batching on the real default model: whatever the scheduler does (batching, chunking,
 * preempting, reusing cached prefixes), each request's greedy output is what it would be alone.
 */
class EngineCoreTest {
    static CausalLM model;
    static ComputePool pool;

    @BeforeAll
    static void load() {
        Path root = Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"));
        model = ModelLoader.load(root.resolve("models/pycoder-22m"));
        pool = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    /** Collects one request's output as the engine delivers it, recording the engine step of each token. */
    static final class Collector implements TokenSink {
        final IntArrayList tokens = new IntArrayList();
        final IntArrayList steps = new IntArrayList();
        int[] stepCounter;
        FinishReason finish;
        Usage usage;

        Collector(int[] stepCounter) {
            this.stepCounter = stepCounter;
        }

        @Override
        public void onToken(int tokenId, Logprobs logprobs) {
            tokens.addInt(tokenId);
            steps.addInt(stepCounter[0]);
        }

        @Override
        public void onFinish(FinishReason reason, Usage usage) {
            finish = reason;
            this.usage = usage;
        }

        int[] output() {
            return tokens.toIntArray();
        }
    }

    static int[] prompt(long seed, int length) {
        return new SplittableRandom(seed).ints(length, 100, 8000).toArray();
    }

    static GenerateRequest greedy(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build(), 0, -1);
    }

    /** Runs the requests through one engine core until all finish; returns the collectors in order. */
    static List<Collector> run(SchedulerConfig config, int kvBlocks, List<GenerateRequest> requests, ServiceMetrics metrics) {
        try (ModelRunner runner = new ModelRunner(model, pool, kvBlocks, 16)) {
            EngineCore core = new EngineCore(runner, config, metrics, new int[] {0});
            int[] step = {0};
            List<Collector> out = new ArrayList<>();
            for (GenerateRequest r : requests) {
                Collector c = new Collector(step);
                out.add(c);
                core.submit(r, new int[0], c, System.nanoTime());
            }
            while (core.step()) {
                step[0]++;
            }
            assertEquals(runner.allocator().totalBlocks(), runner.allocator().freeBlocks(), "every KV block is free again");
            return out;
        }
    }

    static int[] alone(GenerateRequest r) {
        return run(SchedulerConfig.defaults(), 512, List.of(r), new ServiceMetrics("t")).get(0).output();
    }

    @Test
    void sixteenConcurrentRequestsMatchTheSameRequestsRunAlone() {
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            requests.add(greedy("r" + i, prompt(i, 5 + 7 * i), 12 + i));
        }
        List<Collector> together = run(SchedulerConfig.defaults(), 512, requests, new ServiceMetrics("t"));
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone(requests.get(i)), together.get(i).output(), "request " + i);
            assertEquals(FinishReason.LENGTH, together.get(i).finish);
        }
    }

    @Test
    void longPromptIsChunkedWhileOtherStreamsKeepDecoding() {
        GenerateRequest decoding = greedy("short", prompt(1, 8), 40);
        GenerateRequest longPrompt = greedy("long", prompt(2, 600), 8);
        SchedulerConfig small = new SchedulerConfig(64, 16, 16, true);
        List<Collector> out = run(small, 512, List.of(decoding, longPrompt), new ServiceMetrics("t"));
        Collector shortOne = out.get(0);
        Collector longOne = out.get(1);
        int longFirstTokenStep = longOne.steps.getInt(0);
        assertTrue(longFirstTokenStep >= 600 / 64, "600 prompt tokens at 64 per step take 10 steps, took " + longFirstTokenStep);
        long decodedMeanwhile = shortOne.steps.stream().filter(s -> s < longFirstTokenStep).count();
        assertTrue(decodedMeanwhile >= 8, "the short request kept decoding during the long prefill: " + decodedMeanwhile + " tokens");
        assertArrayEquals(alone(longPrompt), longOne.output(), "chunked prefill gives the unchunked output");
        assertArrayEquals(alone(decoding), shortOne.output());
    }

    @Test
    void kvExhaustionPreemptsAndEveryRequestStillCompletesUnchanged() {
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(greedy("p" + i, prompt(10 + i, 40), 60));
        }
        ServiceMetrics metrics = new ServiceMetrics("t");
        // 20 blocks of 16 tokens: each request grows to 100 tokens (7 blocks), so six cannot run together
        List<Collector> out = run(new SchedulerConfig(512, 16, 16, false), 20, requests, metrics);
        assertTrue(metrics.preemptions.sum() > 0, "KV exhaustion preempted someone");
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone(requests.get(i)), out.get(i).output(), "request " + i + " after preemption");
            assertEquals(60, out.get(i).output().length);
        }
    }

    @Test
    void repeatedPromptReusesCachedPrefixBlocks() {
        int[] shared = prompt(99, 200);
        ServiceMetrics metrics = new ServiceMetrics("t");
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), metrics, new int[] {0});
            int[] step = {0};
            Collector first = new Collector(step);
            core.submit(greedy("a", shared, 4), new int[0], first, System.nanoTime());
            while (core.step()) {
                step[0]++;
            }
            assertEquals(0, metrics.prefixCacheHits.sum());
            Collector second = new Collector(step);
            core.submit(greedy("b", shared, 4), new int[0], second, System.nanoTime());
            while (core.step()) {
                step[0]++;
            }
            assertEquals(192, metrics.prefixCacheHits.sum(), "12 full blocks of the 200-token prompt come from the cache");
            assertEquals(192, second.usage.cachedPromptTokens());
            assertArrayEquals(first.output(), second.output(), "cached prefix gives the same output");
            assertEquals(0.0, runner.allocator().usage(), "finished requests hold no blocks");
        }
    }

    @Test
    void abortFreesBlocksAndEndsTheStream() {
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new ServiceMetrics("t"), new int[] {0});
            int[] step = {0};
            Collector c = new Collector(step);
            core.submit(greedy("x", prompt(5, 50), 100), new int[0], c, System.nanoTime());
            core.step();
            core.step();
            assertTrue(runner.allocator().usage() > 0);
            core.abort("x");
            assertEquals(FinishReason.ABORT, c.finish);
            assertEquals(0.0, runner.allocator().usage());
            assertEquals(false, core.step());
        }
    }

    @Test
    void resumedRequestContinuesExactlyWhereAnotherInstanceStopped() {
        int[] p = prompt(11, 40);
        for (SamplingParams params : List.of(SamplingParams.builder().temperature(0).maxTokens(24).ignoreEos(true).build(),
                SamplingParams.builder().temperature(0.9f).topP(0.95f).seed(5).maxTokens(24).ignoreEos(true).build())) {
            int[] whole = runAlone(new GenerateRequest("w", p, params, 0, -1), new int[0]);
            int[] emitted = java.util.Arrays.copyOf(whole, 9);
            int[] rest = runAlone(new GenerateRequest("r", p, params, 0, -1), emitted);
            assertArrayEquals(java.util.Arrays.copyOfRange(whole, 9, 24), rest, "temperature " + params.temperature());
        }
    }

    private static int[] runAlone(GenerateRequest request, int[] emitted) {
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new ServiceMetrics("t"), new int[] {0});
            Collector c = new Collector(new int[1]);
            core.submit(request, emitted, c, System.nanoTime());
            while (core.step()) {
                // run to the end
            }
            assertEquals(emitted.length + c.output().length, c.usage.completionTokens());
            return c.output();
        }
    }

    @Test
    void lowerPriorityValueRunsFirstAndEqualPrioritiesRunInArrivalOrder() {
        SamplingParams p = SamplingParams.builder().temperature(0).maxTokens(3).ignoreEos(true).build();
        List<GenerateRequest> requests = List.of(
                new GenerateRequest("offline", prompt(31, 10), p, 1000, -1),
                new GenerateRequest("first", prompt(32, 10), p, 0, -1),
                new GenerateRequest("second", prompt(33, 10), p, 0, -1));
        // one sequence at a time: the order in which they run is the order in which they finish
        List<Collector> out = run(new SchedulerConfig(512, 1, 16, false), 64, requests, new ServiceMetrics("t"));
        int offline = out.get(0).steps.getInt(0);
        int first = out.get(1).steps.getInt(0);
        int second = out.get(2).steps.getInt(0);
        assertTrue(first < second && second < offline,
                "first token steps: first " + first + ", second " + second + ", offline " + offline);
    }
}
