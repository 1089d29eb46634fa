package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCoreTest.Collector;

/**
 * Online and offline requests in one engine, on the real default model: offline prompts wait for online ones,
 * offline decodes fill the batch only up to the offline limit while online work runs and run freely without
 * it, offline requests give up their memory and seats first, and every request's greedy output is what it
 * would be alone, however often it was preempted and recomputed.
 */
class OfflineSchedulingTest {
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

    /** A request and the engine step before which it is submitted. */
    record Arrival(GenerateRequest request, int step) {
    }

    static final class Metrics extends EngineCoreTest.CountingMetrics {
        long offlinePreemptions;

        @Override
        public void offlinePreempted() {
            offlinePreemptions++;
        }
    }

    static GenerateRequest online(String id, int[] prompt, int maxTokens) {
        return EngineCoreTest.greedy(id, prompt, maxTokens);
    }

    static GenerateRequest offline(String id, int[] prompt, int maxTokens) {
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(maxTokens).ignoreEos(true).build();
        return new GenerateRequest(id, prompt, greedy, 0, -1, true);
    }

    /** Runs the arrivals through one engine core until all finish; returns their collectors in order. */
    static List<Collector> run(SchedulerConfig config, int kvBlocks, List<Arrival> arrivals, Metrics metrics) {
        try (ModelRunner runner = new ModelRunner(model, pool, kvBlocks, 16)) {
            EngineCore core = new EngineCore(runner, config, new int[] {0}, metrics, null);
            int[] step = {0};
            List<Collector> out = new ArrayList<>();
            for (int i = 0; i < arrivals.size(); i++) {
                out.add(new Collector(step));
            }
            int submitted = 0;
            while (true) {
                for (int i = 0; i < arrivals.size(); i++) {
                    if (arrivals.get(i).step() == step[0]) {
                        core.submit(arrivals.get(i).request(), new int[0], out.get(i), System.nanoTime());
                        submitted++;
                    }
                }
                if (!core.step() && submitted == arrivals.size()) {
                    break;
                }
                step[0]++;
            }
            assertEquals(core.totalBlocks(), core.freeBlocks(), "every KV block is free again");
            return out;
        }
    }

    static int[] alone(GenerateRequest r) {
        return run(SchedulerConfig.defaults(), 512, List.of(new Arrival(r, 0)), new Metrics()).get(0).output();
    }

    static void assertEachAsAlone(List<Arrival> arrivals, List<Collector> out) {
        for (int i = 0; i < arrivals.size(); i++) {
            GenerateRequest r = arrivals.get(i).request();
            assertArrayEquals(alone(r), out.get(i).output(), r.requestId());
            assertEquals(r.params().maxTokens(), out.get(i).output().length, r.requestId());
        }
    }

    /** Tokens that the collectors {@code from} got in engine step {@code step}. */
    static int tokensAt(List<Collector> out, int from, int to, int step) {
        int n = 0;
        for (int i = from; i < to; i++) {
            n += (int) out.get(i).steps.stream().filter(s -> s == step).count();
        }
        return n;
    }

    @Test
    void offlinePromptWaitsUntilNoOnlinePromptIsPending() {
        // 256 tokens a step: the online prompt takes steps 0 to 2 and leaves room in step 2
        List<Arrival> arrivals = List.of(
                new Arrival(offline("offline", EngineCoreTest.prompt(1, 100), 8), 0),
                new Arrival(online("online", EngineCoreTest.prompt(2, 600), 8), 0));
        List<Collector> out = run(new SchedulerConfig(256, 16, 16, false), 128, arrivals, new Metrics());
        int onlineFirst = out.get(1).steps.getInt(0);
        int offlineFirst = out.get(0).steps.getInt(0);
        assertEquals(2, onlineFirst, "the online prompt ran at full budget, as alone");
        assertTrue(offlineFirst > onlineFirst, "the offline prompt, submitted first, ran once the online prompt was done");
        assertEachAsAlone(arrivals, out);
    }

    @Test
    void onlinePromptArrivingDuringAnOfflinePromptGetsItsFirstTokenAtOnce() {
        List<Arrival> arrivals = List.of(
                new Arrival(offline("offline", EngineCoreTest.prompt(3, 900), 8), 0),
                new Arrival(online("online", EngineCoreTest.prompt(4, 100), 8), 1));
        List<Collector> out = run(new SchedulerConfig(256, 16, 16, false), 128, arrivals, new Metrics());
        assertEquals(1, out.get(1).steps.getInt(0), "the online request's first token came in the step it arrived");
        assertTrue(out.get(0).steps.getInt(0) >= 4, "the offline prompt needs 4 steps of its own");
        assertEachAsAlone(arrivals, out);
    }

    @Test
    void offlineDecodesFillTheBatchOnlyUpToTheLimitWhileOnlineWorkRuns() {
        int limit = 4;
        List<Arrival> arrivals = new ArrayList<>();
        // the online request decodes long enough for the offline prompts to go through a few tokens a step
        arrivals.add(new Arrival(online("online", EngineCoreTest.prompt(10, 8), 40), 0));
        for (int i = 0; i < 8; i++) {
            arrivals.add(new Arrival(offline("offline" + i, EngineCoreTest.prompt(20 + i, 8), 60), 0));
        }
        List<Collector> out = run(new SchedulerConfig(512, 64, 64, false, limit), 256, arrivals, new Metrics());
        Collector onlineOut = out.get(0);
        int withOnline = 0;
        for (int k = 0; k < onlineOut.steps.size(); k++) {
            withOnline = Math.max(withOnline, tokensAt(out, 1, out.size(), onlineOut.steps.getInt(k)));
        }
        assertEquals(limit - 1, withOnline, "beside the online decode, offline tokens fill the batch up to " + limit);
        int lastOnline = onlineOut.steps.getInt(onlineOut.steps.size() - 1);
        int alone = 0;
        for (int step = lastOnline + 1; step < lastOnline + 20; step++) {
            alone = Math.max(alone, tokensAt(out, 1, out.size(), step));
        }
        assertEquals(8, alone, "without online work all offline requests decode together");
        assertEachAsAlone(arrivals, out);
    }

    @Test
    void offlineRequestsArePreemptedBeforeOnlineOnesWhenMemoryIsShort() {
        List<Arrival> arrivals = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            arrivals.add(new Arrival(offline("offline" + i, EngineCoreTest.prompt(40 + i, 40), 60), 0));
        }
        for (int i = 0; i < 2; i++) {
            arrivals.add(new Arrival(online("online" + i, EngineCoreTest.prompt(50 + i, 40), 60), 4));
        }
        Metrics metrics = new Metrics();
        // 20 blocks of 16 tokens: each request grows to 100 tokens (7 blocks); the newest are the online ones
        List<Collector> out = run(new SchedulerConfig(512, 16, 16, false), 20, arrivals, metrics);
        assertTrue(metrics.preemptions > 0, "memory ran short");
        assertEquals(metrics.preemptions, metrics.offlinePreemptions, "only offline requests were preempted");
        for (int i = 3; i < 5; i++) {
            Collector c = out.get(i);
            int first = c.steps.getInt(0);
            assertEquals(first + 59, c.steps.getInt(59), "online request " + i + " got a token every step: never paused");
        }
        assertEachAsAlone(arrivals, out);
    }

    @Test
    void onlineRequestTakesTheSeatOfAnOfflineOne() {
        List<Arrival> arrivals = List.of(
                new Arrival(offline("offline0", EngineCoreTest.prompt(60, 20), 30), 0),
                new Arrival(offline("offline1", EngineCoreTest.prompt(61, 20), 30), 0),
                new Arrival(online("online", EngineCoreTest.prompt(62, 20), 10), 3));
        Metrics metrics = new Metrics();
        List<Collector> out = run(new SchedulerConfig(512, 2, 16, false), 64, arrivals, metrics);
        assertEquals(3, out.get(2).steps.getInt(0), "two seats, both offline: the online request still starts at once");
        assertEquals(1, metrics.offlinePreemptions);
        assertEachAsAlone(arrivals, out);
    }

    @Test
    void mixedTrafficUnderMemoryPressureGivesEveryRequestItsOutputAlone() {
        List<Arrival> arrivals = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            arrivals.add(new Arrival(online("online" + i, EngineCoreTest.prompt(70 + i, 10 + 25 * i), 20 + 4 * i), 3 * i));
            arrivals.add(new Arrival(offline("offline" + i, EngineCoreTest.prompt(80 + i, 120 - 20 * i), 40 - 3 * i), i));
        }
        Metrics metrics = new Metrics();
        // 64 tokens a step chunks the prompts; 24 blocks hold about four of these requests at once
        List<Collector> out = run(new SchedulerConfig(64, 8, 64, true, 4), 24, arrivals, metrics);
        assertTrue(metrics.offlinePreemptions > 0, "offline requests were preempted and recomputed");
        assertEachAsAlone(arrivals, out);
    }
}
