package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
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
import xllm.engine.TestData;
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
        model = ModelLoader.load(TestData.model("pycoder-22m"));
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

    /** Counts what the core reports. */
    static class CountingMetrics implements RequestMetrics {
        long preemptions;
        long prefixCacheQueries;
        long prefixCacheHits;
        long firstTokens;
        long laterTokens;
        long ended;

        @Override
        public void scheduledFirst(long waitNanos) {
        }

        @Override
        public void firstToken(long sinceArrivalNanos, int promptTokens) {
            firstTokens++;
        }

        @Override
        public void nextToken(long gapNanos) {
            laterTokens++;
        }

        @Override
        public void preempted() {
            preemptions++;
        }

        @Override
        public void requestEnded(FinishReason reason, long e2eNanos, int promptTokens, int cachedPromptTokens) {
            ended++;
            prefixCacheQueries += promptTokens;
            prefixCacheHits += cachedPromptTokens;
        }
    }

    static int[] prompt(long seed, int length) {
        return new SplittableRandom(seed).ints(length, 100, 8000).toArray();
    }

    static GenerateRequest greedy(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build(), 0, -1);
    }

    /** Runs the requests through one engine core until all finish; returns the collectors in order. */
    static List<Collector> run(SchedulerConfig config, int kvBlocks, List<GenerateRequest> requests, CountingMetrics metrics) {
        try (ModelRunner runner = new ModelRunner(model, pool, kvBlocks, 16)) {
            EngineCore core = new EngineCore(runner, config, new int[] {0}, metrics, null);
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
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            return out;
        }
    }

    static int[] alone(GenerateRequest r) {
        return run(SchedulerConfig.defaults(), 512, List.of(r), new CountingMetrics()).get(0).output();
    }

    @Test
    void sixteenConcurrentRequestsMatchTheSameRequestsRunAlone() {
        List<GenerateRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            requests.add(greedy("r" + i, prompt(i, 5 + 7 * i), 12 + i));
        }
        CountingMetrics metrics = new CountingMetrics();
        List<Collector> together = run(SchedulerConfig.defaults(), 512, requests, metrics);
        long tokens = 0;
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone(requests.get(i)), together.get(i).output(), "request " + i);
            assertEquals(FinishReason.LENGTH, together.get(i).finish);
            tokens += together.get(i).output().length;
        }
        assertEquals(16, metrics.firstTokens, "one first token per request");
        assertEquals(tokens, metrics.firstTokens + metrics.laterTokens, "every delivered token is counted once");
        assertEquals(16, metrics.ended);
    }

    @Test
    void longPromptIsChunkedWhileOtherStreamsKeepDecoding() {
        GenerateRequest decoding = greedy("short", prompt(1, 8), 40);
        GenerateRequest longPrompt = greedy("long", prompt(2, 600), 8);
        SchedulerConfig small = new SchedulerConfig(64, 16, 16, true);
        List<Collector> out = run(small, 512, List.of(decoding, longPrompt), new CountingMetrics());
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
        CountingMetrics metrics = new CountingMetrics();
        // 20 blocks of 16 tokens: each request grows to 100 tokens (7 blocks), so six cannot run together
        List<Collector> out = run(new SchedulerConfig(512, 16, 16, false), 20, requests, metrics);
        assertTrue(metrics.preemptions > 0, "KV exhaustion preempted someone");
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(alone(requests.get(i)), out.get(i).output(), "request " + i + " after preemption");
            assertEquals(60, out.get(i).output().length);
        }
    }

    @Test
    void repeatedPromptReusesCachedPrefixBlocks() {
        int[] shared = prompt(99, 200);
        CountingMetrics metrics = new CountingMetrics();
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new int[] {0}, metrics, null);
            int[] step = {0};
            Collector first = new Collector(step);
            core.submit(greedy("a", shared, 4), new int[0], first, System.nanoTime());
            while (core.step()) {
                step[0]++;
            }
            assertEquals(0, metrics.prefixCacheHits);
            Collector second = new Collector(step);
            core.submit(greedy("b", shared, 4), new int[0], second, System.nanoTime());
            while (core.step()) {
                step[0]++;
            }
            assertEquals(192, metrics.prefixCacheHits, "12 full blocks of the 200-token prompt come from the cache");
            assertEquals(192, second.usage.cachedPromptTokens());
            assertArrayEquals(first.output(), second.output(), "cached prefix gives the same output");
            assertEquals(0.0, core.kvUsage(), "finished requests hold no blocks");
        }
    }

    @Test
    void abortFreesBlocksAndEndsTheStream() {
        try (ModelRunner runner = new ModelRunner(model, pool, 256, 16)) {
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new int[] {0}, new CountingMetrics(), null);
            int[] step = {0};
            Collector c = new Collector(step);
            core.submit(greedy("x", prompt(5, 50), 100), new int[0], c, System.nanoTime());
            core.step();
            core.step();
            assertTrue(core.kvUsage() > 0);
            core.abort("x");
            assertEquals(FinishReason.ABORT, c.finish);
            assertEquals(0.0, core.kvUsage());
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
            EngineCore core = new EngineCore(runner, SchedulerConfig.defaults(), new int[] {0}, new CountingMetrics(), null);
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
        List<Collector> out = run(new SchedulerConfig(512, 1, 16, false), 64, requests, new CountingMetrics());
        int offline = out.get(0).steps.getInt(0);
        int first = out.get(1).steps.getInt(0);
        int second = out.get(2).steps.getInt(0);
        assertTrue(first < second && second < offline,
                "first token steps: first " + first + ", second " + second + ", offline " + offline);
    }
}
