package xllm.cli.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.kernel.ComputePool;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCore;
import xllm.engine.scheduler.DraftCounts;
import xllm.engine.scheduler.SchedulerConfig;
import xllm.engine.spec.Speculation;
import xllm.engine.spec.SpeculativeConfig;

/**
 * Decode speed with and without speculation on a workload of real prompts: for each batch size, the
 * workload's first prompts are submitted together, greedy, and the engine step runs until every sequence
 * has generated its tokens; decode tokens per second count the tokens after every sequence had its first.
 * Every run starts a fresh engine core and proposer (no drafts learnt from an earlier run of the same
 * prompts); methods alternate within each round, so that the machine's drift falls on all of them alike.
 * Runs on the calling thread.
 */
public final class SpeculativeBenchmark {
    /** One method's figures at one batch size: medians over the rounds, and the drafts of all rounds. */
    public record Result(String method, int batch, double decodeTokS, long drafts, long draftTokens, long acceptedTokens,
                         boolean identical) {
        /** Share of draft tokens accepted. */
        public double acceptanceRate() {
            return draftTokens == 0 ? 0 : (double) acceptedTokens / draftTokens;
        }

        /** Tokens a step yields per sequence that drafted: the accepted drafts plus the target's own token. */
        public double meanAcceptanceLength() {
            return drafts == 0 ? 1 : 1 + (double) acceptedTokens / drafts;
        }
    }

    private final ModelRunner runner;
    private final ComputePool pool;
    private final long draftKvBytes;
    private long requests;

    public SpeculativeBenchmark(ModelRunner runner, ComputePool pool, long draftKvBytes) {
        this.runner = runner;
        this.pool = pool;
        this.draftKvBytes = draftKvBytes;
    }

    /**
     * Runs no speculation and each of {@code methods} at each batch size, {@code rounds} times (after one
     * untimed round), and returns a result per method and batch size, no speculation first.
     */
    public List<Result> run(List<int[]> prompts, List<SpeculativeConfig> methods, int[] batches, int genLen, int rounds) {
        List<SpeculativeConfig> all = new ArrayList<>();
        all.add(null);
        all.addAll(methods);
        Map<String, Run[]> runs = new LinkedHashMap<>();
        for (int round = -1; round < rounds; round++) {
            for (int batch : batches) {
                for (SpeculativeConfig config : all) {
                    Run run = once(prompts.subList(0, Math.min(batch, prompts.size())), config, genLen);
                    if (round >= 0) {
                        runs.computeIfAbsent(name(config) + "@" + batch, k -> new Run[rounds])[round] = run;
                    }
                }
            }
        }
        List<Result> results = new ArrayList<>();
        for (int batch : batches) {
            int[][] reference = runs.get(name(null) + "@" + batch)[0].outputs;
            for (SpeculativeConfig config : all) {
                Run[] r = runs.get(name(config) + "@" + batch);
                double[] speeds = Arrays.stream(r).mapToDouble(x -> x.decodeTokS).sorted().toArray();
                boolean identical = Arrays.stream(r).allMatch(x -> Arrays.deepEquals(x.outputs, reference));
                results.add(new Result(name(config), batch, speeds[speeds.length / 2], Arrays.stream(r).mapToLong(x -> x.drafts).sum(),
                        Arrays.stream(r).mapToLong(x -> x.draftTokens).sum(), Arrays.stream(r).mapToLong(x -> x.accepted).sum(), identical));
            }
        }
        return results;
    }

    static String name(SpeculativeConfig config) {
        return config == null ? "none" : config.method().spelling() + " k=" + config.numSpeculativeTokens();
    }

    private record Run(double decodeTokS, long drafts, long draftTokens, long accepted, int[][] outputs) {
    }

    private Run once(List<int[]> prompts, SpeculativeConfig config, int genLen) {
        DraftCounts counts = new DraftCounts();
        Speculation speculation = config == null ? null : Speculation.create(config, runner, pool, draftKvBytes);
        try {
            EngineCore core = new EngineCore(runner, new SchedulerConfig(4096, prompts.size(), 0, false), new int[0], counts, null,
                    speculation);
            Sink[] sinks = new Sink[prompts.size()];
            for (int i = 0; i < sinks.length; i++) {
                sinks[i] = new Sink(genLen);
                core.submit(new GenerateRequest("bench-spec-" + requests++, prompts.get(i), SamplingParams.builder().temperature(0)
                        .maxTokens(genLen).ignoreEos(true).build(), 0, -1), new int[0], sinks[i], System.nanoTime());
            }
            while (core.hasWork() && Arrays.stream(sinks).anyMatch(s -> s.count == 0)) {
                core.step();
            }
            int before = Arrays.stream(sinks).mapToInt(s -> s.count).sum();
            long start = System.nanoTime();
            while (core.hasWork()) {
                core.step();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            int after = Arrays.stream(sinks).mapToInt(s -> s.count).sum();
            int[][] outputs = Arrays.stream(sinks).map(s -> Arrays.copyOf(s.tokens, s.count)).toArray(int[][]::new);
            return new Run((after - before) / seconds, counts.drafts(), counts.draftTokens(), counts.acceptedTokens(), outputs);
        } finally {
            if (speculation != null) {
                speculation.close();
            }
        }
    }

    private static final class Sink implements TokenSink {
        final int[] tokens;
        int count;

        Sink(int capacity) {
            tokens = new int[capacity];
        }

        @Override
        public void onToken(int tokenId, Logprobs logprobs) {
            tokens[count++] = tokenId;
        }

        @Override
        public void onFinish(FinishReason reason, Usage usage) {
        }
    }
}
