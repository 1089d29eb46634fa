package xllm.cli.bench;

import java.util.Arrays;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.EngineCore;
import xllm.engine.scheduler.RequestMetrics;
import xllm.engine.scheduler.SchedulerConfig;

/**
 * What a constraint costs the decode step: batches of sequences sampled with and without it, in turn, timing
 * only the steps in which every sequence of the batch emitted a token (a constrained output may end early,
 * and a smaller batch would be a different measurement).
 */
public final class StructuredDecodeBenchmark {
    /** Median step times in nanoseconds, free and constrained, and how many full steps each had. */
    public record Result(double freeStepNanos, double constrainedStepNanos, int freeSteps, int constrainedSteps) {
        public double overhead() {
            return constrainedStepNanos / freeStepNanos - 1;
        }
    }

    private final ModelRunner runner;
    private final VocabularyTrie vocabulary;
    private final int[] prompt;

    public StructuredDecodeBenchmark(ModelRunner runner, VocabularyTrie vocabulary, int[] prompt) {
        this.runner = runner;
        this.vocabulary = vocabulary;
        this.prompt = prompt.clone();
    }

    public Result run(StructuredOutput constraint, int batch, int genLen, int rounds) {
        EngineCore core = new EngineCore(runner, new SchedulerConfig(Math.max(512, prompt.length * batch), batch, 0, true),
                new int[0], RequestMetrics.NONE, null);
        core.enableStructuredOutputs(vocabulary);
        long[] free = new long[0];
        long[] constrained = new long[0];
        round(core, null, batch, genLen, 0); // warm-up of both paths, masks of the states met included
        round(core, constraint, batch, genLen, 0);
        for (int r = 1; r <= rounds; r++) {
            free = concat(free, round(core, null, batch, genLen, r));
            constrained = concat(constrained, round(core, constraint, batch, genLen, r));
        }
        return new Result(GrammarBenchmark.percentile(free, 50), GrammarBenchmark.percentile(constrained, 50), free.length,
                constrained.length);
    }

    /** The times of the steps in which all {@code batch} sequences emitted a token. */
    private long[] round(EngineCore core, StructuredOutput constraint, int batch, int genLen, long seed) {
        int[] emitted = new int[1];
        TokenSink sink = new TokenSink() {
            @Override
            public void onToken(int tokenId, Logprobs logprobs) {
                emitted[0]++;
            }

            @Override
            public void onFinish(FinishReason reason, Usage usage) {
            }
        };
        for (int i = 0; i < batch; i++) {
            SamplingParams p = SamplingParams.builder().temperature(1f).seed(seed * 1000 + i).maxTokens(genLen).ignoreEos(true).build();
            core.submit(new GenerateRequest("s" + i, prompt, p, 0, -1).withStructuredOutput(constraint), new int[0], sink,
                    System.nanoTime());
        }
        long[] times = new long[genLen];
        int full = 0;
        while (true) {
            emitted[0] = 0;
            long start = System.nanoTime();
            if (!core.step()) {
                break;
            }
            long took = System.nanoTime() - start;
            if (emitted[0] == batch && full < times.length) {
                times[full++] = took;
            }
        }
        return Arrays.copyOf(times, full);
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
