package xllm.sched;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.TokenSink;
import xllm.api.Usage;

/**
 * What an engine runs before it reports ready: a few prompts of growing length alone and a few batches of short
 * generations, so that the JIT has compiled the kernels of every shape before the first request. A worker's
 * engine runs them twice ({@link Mode#PROFILE}): the second pass runs on warm kernels, and its step times are what
 * the router's latency predictors start from (prefill times by prompt length, decode times by batch size); the
 * first pass's steps, on a cold compiler, would mislead them. The prompts are random token ids; what they leave
 * in the prefix cache is evicted first like any cold block. Nothing of it reaches the request metrics ({@link Warming}).
 *
 * <p>Last of the prompts comes one as long as a step may be ({@code --max-num-batched-tokens}), and last of the
 * batches one as large ({@code --max-num-seqs}), each when the longest or largest of the others says it takes under
 * {@link #FULL_STEP_BUDGET_NANOS}: buffers that grow to the largest step seen (the step batch, packed activations,
 * rotary tables, logits, scratch) grow here, not in the first long prompt or large batch after {@code /health},
 * whose compiled code would otherwise trap on each growth branch and be compiled again.
 */
final class WarmUp {
    /** How much warm-up an engine runs before it reports ready. */
    enum Mode {
        /** None: the engine is used cold (in-process use, tests of the loading itself). */
        NONE,
        /** One pass, for compiled code. */
        COMPILE,
        /** Two passes, keeping the second one's step times for the router. */
        PROFILE
    }

    private static final int[] PROMPT_LENGTHS = {16, 64, 256};
    private static final int[] BATCHES = {1, 4, 8};
    private static final int DECODE_STEPS = 6;
    private static final long SEED = 20_251_016L;
    private static final long PASS_TIMEOUT_SECONDS = 120;
    /** The longest the full-step prompt or the full batch may be expected to take; on a model too slow for one, the warm-up skips it. */
    private static final long FULL_STEP_BUDGET_NANOS = 2_000_000_000L;

    private WarmUp() {
    }

    /**
     * Runs the passes of {@code mode} through {@code loop}, leaving in {@code steps} only the step times of a
     * second pass. Prompts and batches that would not fit in half of the {@code kvTokens} the KV cache holds, or in
     * the model's {@code context}, are left out: a warm-up must never wait for memory.
     *
     * @param maxStepTokens the most tokens one step holds
     * @param maxSeqs the most sequences one step holds
     * @return false when the engine did not finish them in time (it is then used cold)
     */
    static boolean run(Mode mode, EngineLoop loop, StepTimes steps, int vocab, int context, int kvTokens, int maxStepTokens,
            int maxSeqs) throws InterruptedException {
        SplittableRandom random = new SplittableRandom(SEED);
        boolean done = pass(loop, random, vocab, context, kvTokens, maxStepTokens, maxSeqs);
        steps.take();
        return done && (mode != Mode.PROFILE || pass(loop, random, vocab, context, kvTokens, maxStepTokens, maxSeqs));
    }

    private static boolean pass(EngineLoop loop, SplittableRandom random, int vocab, int context, int kvTokens, int maxStepTokens,
            int maxSeqs) throws InterruptedException {
        int room = Math.min(context, kvTokens / 2);
        int longest = 0;
        long longestNanos = 0;
        for (int length : PROMPT_LENGTHS) {
            if (length + 1 < room) {
                longestNanos = timedGenerate(loop, random, vocab, 1, length, 1);
                if (longestNanos < 0) {
                    return false;
                }
                longest = length;
            }
        }
        int fullStep = Math.min(maxStepTokens, room - 2);
        if (longest > 0 && fullStep > longest && longestNanos * fullStep / longest < FULL_STEP_BUDGET_NANOS
                && !generate(loop, random, vocab, 1, fullStep, 1)) {
            return false;
        }
        int largest = 0;
        long largestNanos = 0;
        for (int batch : BATCHES) {
            if (batch * (8 + DECODE_STEPS) < room) {
                largestNanos = timedGenerate(loop, random, vocab, batch, 8, DECODE_STEPS);
                if (largestNanos < 0) {
                    return false;
                }
                largest = batch;
            }
        }
        int fullBatch = Math.min(maxSeqs, (room - 1) / (8 + DECODE_STEPS));
        return largest == 0 || fullBatch <= largest || largestNanos * fullBatch / largest >= FULL_STEP_BUDGET_NANOS
                || generate(loop, random, vocab, fullBatch, 8, DECODE_STEPS);
    }

    /** {@link #generate}, returning how long it took in nanoseconds, or -1 when the engine did not finish in time. */
    private static long timedGenerate(EngineLoop loop, SplittableRandom random, int vocab, int batch, int promptLength, int tokens)
            throws InterruptedException {
        long start = System.nanoTime();
        return generate(loop, random, vocab, batch, promptLength, tokens) ? System.nanoTime() - start : -1;
    }

    private static boolean generate(EngineLoop loop, SplittableRandom random, int vocab, int batch, int promptLength, int tokens)
            throws InterruptedException {
        CountDownLatch done = new CountDownLatch(batch);
        TokenSink sink = new TokenSink() {
            @Override
            public void onToken(int tokenId, Logprobs logprobs) {
            }

            @Override
            public void onFinish(FinishReason reason, Usage usage) {
                done.countDown();
            }
        };
        SamplingParams params = SamplingParams.builder().maxTokens(tokens).ignoreEos(true).build();
        for (int b = 0; b < batch; b++) {
            int[] prompt = new int[promptLength];
            for (int i = 0; i < promptLength; i++) {
                prompt[i] = random.nextInt(Math.max(1, vocab - 1)); // any id but the last: some vocabularies end in specials
            }
            if (!loop.submit(new GenerateRequest("xllm-warm-up-" + random.nextLong(), prompt, params, 0, -1), new int[0], sink, null, null)) {
                return false;
            }
        }
        return done.await(PASS_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
}
