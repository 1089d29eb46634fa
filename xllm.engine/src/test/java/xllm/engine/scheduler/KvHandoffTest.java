package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ModelLoader;
import xllm.engine.runner.ModelRunner;
import xllm.kv.KvDtype;
import xllm.kv.PageArena;

/**
 * Prefill on one engine instance, decode on another, on the real default model: the prefill instance's KV
 * blocks live in a shared file, the decode instance maps it and copies them in, and the output is token for
 * token what one instance gives alone, greedy or seeded. A prefix the decode instance caches already is not
 * copied again; the prefill instance's blocks stay held until released.
 */
class KvHandoffTest {
    static final int BLOCK = 16;
    static final int BLOCKS = 64;
    static CausalLM model;
    static ComputePool pool;

    @TempDir
    Path dir;

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

    /** What a prefill instance handed off. */
    static final class Handoff implements KvHandoff {
        int[] blocks;
        int tokens;

        @Override
        public void handedOff(int[] blocks, int tokens) {
            this.blocks = blocks;
            this.tokens = tokens;
        }
    }

    /** What a decode instance's import took. */
    static final class Imported implements KvImport.Listener {
        long bytes = Long.MIN_VALUE;
        int reused;

        @Override
        public void imported(long copiedBytes, long nanos, int reusedTokens) {
            bytes = copiedBytes;
            reused = reusedTokens;
        }
    }

    static EngineCore core(ModelRunner runner) {
        return new EngineCore(runner, new SchedulerConfig(256, 8, 16, true), new int[0], new RequestMetrics() {}, null);
    }

    static int[] prompt(long seed, int length) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 100 + random.nextInt(5000);
        }
        return p;
    }

    static void drain(EngineCore core) {
        while (core.step()) {
            // runs to completion
        }
    }

    static int[] alone(GenerateRequest request) {
        try (ModelRunner runner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore core = core(runner);
            EngineCoreTest.Collector out = new EngineCoreTest.Collector(new int[1]);
            core.submit(request, new int[0], out, System.nanoTime());
            drain(core);
            return out.output();
        }
    }

    @Test
    void decodeAfterHandoffIsTheOutputOfOneInstance() {
        GenerateRequest greedy = new GenerateRequest("g", prompt(1, 37), SamplingParams.builder().maxTokens(12).ignoreEos(true).build(), 0, -1);
        GenerateRequest seeded = new GenerateRequest("s", prompt(2, 48),
                SamplingParams.builder().temperature(0.9f).seed(7).maxTokens(12).ignoreEos(true).build(), 0, -1);
        Path file = dir.resolve("kv-pages-0");
        try (ModelRunner prefillRunner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32, file);
             ModelRunner decodeRunner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32);
             PageArena peer = PageArena.openPeer(file)) {
            EngineCore prefill = core(prefillRunner);
            EngineCore decode = core(decodeRunner);
            for (GenerateRequest request : new GenerateRequest[] {greedy, seeded}) {
                EngineCoreTest.Collector first = new EngineCoreTest.Collector(new int[1]);
                Handoff handoff = new Handoff();
                int freeBefore = prefill.freeBlocks();
                prefill.submitPrefill(request, first, System.nanoTime(), handoff);
                drain(prefill);
                assertNotNull(handoff.blocks, "the prefill instance hands the prompt's blocks on");
                assertEquals(request.promptLength(), handoff.tokens);
                assertEquals(1, first.output().length, "the prefill instance samples the first token only");
                assertNull(first.finish, "a handed-off request does not finish on the prefill instance");
                assertEquals(freeBefore - handoff.blocks.length, prefill.freeBlocks(), "handed-off blocks stay held");

                EngineCoreTest.Collector rest = new EngineCoreTest.Collector(new int[1]);
                Imported imported = new Imported();
                decode.submitWithKv(request, first.output(), rest, System.nanoTime(),
                        new KvImport(peer, handoff.blocks, handoff.tokens, imported));
                assertEquals((long) handoff.blocks.length * decodeRunner.arena().blockBytes(), imported.bytes);
                prefill.releaseHandoff(request.requestId());
                assertEquals(freeBefore, prefill.freeBlocks(), "released blocks are free again (cached ones evictable)");
                drain(decode);
                int[] output = concat(first.output(), rest.output());
                assertArrayEquals(alone(request), output, request.requestId());
                assertEquals(FinishReason.LENGTH, rest.finish);
                assertEquals(request.promptLength(), rest.usage.promptTokens());
            }
        }
    }

    @Test
    void aPrefixCachedOnTheDecodeInstanceIsNotCopiedAgain() {
        int[] shared = prompt(3, 64);
        int[] longer = Arrays.copyOf(shared, 70);
        System.arraycopy(prompt(4, 6), 0, longer, 64, 6);
        Path file = dir.resolve("kv-pages-1");
        try (ModelRunner prefillRunner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32, file);
             ModelRunner decodeRunner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32);
             PageArena peer = PageArena.openPeer(file)) {
            EngineCore prefill = core(prefillRunner);
            EngineCore decode = core(decodeRunner);
            SamplingParams params = SamplingParams.builder().maxTokens(4).ignoreEos(true).build();
            long[] copied = new long[2];
            int[] reused = new int[2];
            int i = 0;
            for (int[] p : new int[][] {shared, longer}) {
                GenerateRequest request = new GenerateRequest("r" + i, p, params, 0, -1);
                EngineCoreTest.Collector first = new EngineCoreTest.Collector(new int[1]);
                Handoff handoff = new Handoff();
                prefill.submitPrefill(request, first, System.nanoTime(), handoff);
                drain(prefill);
                Imported imported = new Imported();
                EngineCoreTest.Collector rest = new EngineCoreTest.Collector(new int[1]);
                decode.submitWithKv(request, first.output(), rest, System.nanoTime(), new KvImport(peer, handoff.blocks, handoff.tokens, imported));
                prefill.releaseHandoff(request.requestId());
                drain(decode);
                assertArrayEquals(alone(request), concat(first.output(), rest.output()));
                copied[i] = imported.bytes;
                reused[i] = imported.reused;
                i++;
            }
            long block = decodeRunner.arena().blockBytes();
            assertEquals(4 * block, copied[0], "64 tokens: four blocks copied");
            assertEquals(64, reused[1], "the second prompt's first four blocks are cached on the decode instance");
            assertEquals(block, copied[1], "only the block past the cached prefix is copied");
        }
    }

    @Test
    void anImportThatCannotBeUsedIsRecomputed() {
        GenerateRequest request = new GenerateRequest("x", prompt(5, 40), SamplingParams.builder().maxTokens(6).ignoreEos(true).build(), 0, -1);
        int[] expected = alone(request);
        Path file = dir.resolve("kv-pages-f16");
        // a source in another element type: its blocks mean something else here
        try (PageArena foreign = PageArena.createShared(file, 8, BLOCK, model.numLayers(), model.kvFloatsPerSlot(), KvDtype.F16);
             ModelRunner decodeRunner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore decode = core(decodeRunner);
            Imported imported = new Imported();
            EngineCoreTest.Collector rest = new EngineCoreTest.Collector(new int[1]);
            decode.submitWithKv(request, new int[] {expected[0]}, rest, System.nanoTime(),
                    new KvImport(foreign, new int[] {0, 1, 2}, 40, imported));
            drain(decode);
            assertEquals(-1, imported.bytes);
            assertArrayEquals(Arrays.copyOfRange(expected, 1, expected.length), rest.output());
        }
    }

    @Test
    void anInstanceResumesItsOwnHandoffOnTheSameBlocks() {
        GenerateRequest request = new GenerateRequest("own", prompt(7, 45), SamplingParams.builder().maxTokens(10).ignoreEos(true).build(), 0, -1);
        try (ModelRunner runner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore core = core(runner);
            int free = core.freeBlocks();
            EngineCoreTest.Collector first = new EngineCoreTest.Collector(new int[1]);
            Handoff handoff = new Handoff();
            core.submitPrefill(request, first, System.nanoTime(), handoff);
            drain(core);
            EngineCoreTest.Collector rest = new EngineCoreTest.Collector(new int[1]);
            Imported imported = new Imported();
            core.submitWithKv(request, first.output(), rest, System.nanoTime(), new KvImport(null, handoff.blocks, handoff.tokens, imported));
            assertEquals(0, core.handoffsHeld(), "the handoff became the resumed sequence");
            assertEquals(0, imported.bytes, "its own blocks: nothing copied");
            drain(core);
            assertArrayEquals(alone(request), concat(first.output(), rest.output()));
            core.releaseHandoff("own"); // the router's release after the resumption changes nothing
            assertEquals(free, core.freeBlocks(), "every block is back once the request ended");
        }
    }

    /** The router resubmits a flight whose decode instance died before taking it; it may land on its source. */
    @Test
    void aResubmittedHandoffResumesOnItsSourcesBlocks() {
        GenerateRequest request = new GenerateRequest("back", prompt(9, 45), SamplingParams.builder().maxTokens(10).ignoreEos(true).build(), 0, -1);
        try (ModelRunner runner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore core = core(runner);
            int free = core.freeBlocks();
            EngineCoreTest.Collector first = new EngineCoreTest.Collector(new int[1]);
            core.submitPrefill(request, first, System.nanoTime(), new Handoff());
            drain(core);
            EngineCoreTest.Collector rest = new EngineCoreTest.Collector(new int[1]);
            core.submit(request, first.output(), rest, System.nanoTime());
            assertEquals(0, core.handoffsHeld(), "the handoff became the resumed sequence");
            drain(core);
            assertEquals(FinishReason.LENGTH, rest.finish, "not refused as a duplicate");
            assertArrayEquals(alone(request), concat(first.output(), rest.output()));
            core.releaseHandoff("back"); // a release still on its way changes nothing
            assertEquals(free, core.freeBlocks(), "every block is back once the request ended");
        }
    }

    @Test
    void anImportForARequestLiveHereIsRefusedAndSaysSo() {
        GenerateRequest request = new GenerateRequest("dup", prompt(8, 20), SamplingParams.builder().maxTokens(4).build(), 0, -1);
        try (ModelRunner runner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore core = core(runner);
            core.submit(request, new int[0], new EngineCoreTest.Collector(new int[1]), System.nanoTime());
            Imported imported = new Imported();
            EngineCoreTest.Collector refused = new EngineCoreTest.Collector(new int[1]);
            core.submitWithKv(request, new int[] {1}, refused, System.nanoTime(), new KvImport(runner.arena(), new int[] {0, 1}, 20, imported));
            assertEquals(FinishReason.ABORT, refused.finish);
            assertEquals(-1, imported.bytes, "the source hears it may free its blocks");
            drain(core);
        }
    }

    @Test
    void handedOffBlocksAreFreedWhenNobodyTakesThem() {
        GenerateRequest request = new GenerateRequest("t", prompt(6, 20), SamplingParams.builder().maxTokens(6).build(), 0, -1);
        try (ModelRunner runner = new ModelRunner(model, pool, BLOCKS, BLOCK, KvDtype.F32)) {
            EngineCore prefill = core(runner);
            int free = prefill.freeBlocks();
            prefill.submitPrefill(request, new EngineCoreTest.Collector(new int[1]), System.nanoTime(), new Handoff());
            drain(prefill);
            assertEquals(1, prefill.handoffsHeld());
            prefill.abort("t");
            assertEquals(0, prefill.handoffsHeld(), "an abort releases a handoff too");
            assertEquals(free, prefill.freeBlocks());
            assertTrue(EngineCore.HANDOFF_TIMEOUT_NANOS >= 10_000_000_000L, "a slow decode instance has time to copy");
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
