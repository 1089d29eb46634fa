package xllm.sched.cluster;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.sched.EngineService;

/**
 * A worker's first minute of self-knowledge: before it answers the router it runs a few prompts of growing
 * length alone (prefill times) and a few batches of short generations (decode times at several batch
 * sizes), so that the router's latency predictors have data before the first real request. It runs twice
 * and reports the second pass: the first warms up the compiler, whose cold steps would mislead the predictors. The prompts are random token ids; what they leave in the prefix cache is evicted
 * first like any cold block.
 */
final class StartupProfile {
    private static final int[] PROMPT_LENGTHS = {16, 64, 256};
    private static final int[] BATCHES = {1, 4, 8};
    private static final int DECODE_STEPS = 6;
    private static final long SEED = 20_251_016L;

    private StartupProfile() {
    }

    /** Runs the profile on {@code engine}; a model too small for it is profiled as far as it goes. */
    static void run(EngineService engine) {
        SplittableRandom random = new SplittableRandom(SEED);
        int context = engine.model().maxModelLength();
        int vocab = engine.model().vocabSize();
        try {
            // the first pass runs on a cold compiler; only the second one is reported
            pass(engine, random, vocab, context);
            engine.takeStepTimes();
            pass(engine, random, vocab, context);
        } catch (ServiceException | InterruptedException e) {
            System.err.println("xllm worker: start-up profile cut short: " + e.getMessage());
        }
    }

    private static void pass(EngineService engine, SplittableRandom random, int vocab, int context) throws InterruptedException {
        for (int length : PROMPT_LENGTHS) {
            if (length + 1 < context) {
                generate(engine, random, vocab, 1, length, 1);
            }
        }
        for (int batch : BATCHES) {
            generate(engine, random, vocab, batch, 8, DECODE_STEPS);
        }
    }

    private static void generate(EngineService engine, SplittableRandom random, int vocab, int batch, int promptLength, int tokens)
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
            engine.submit(new GenerateRequest("xllm-profile-" + random.nextLong(), prompt, params, 0, -1), sink);
        }
        done.await(60, TimeUnit.SECONDS);
    }
}
