package xllm.engine.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import xllm.engine.kernel.ComputePool;
import xllm.engine.runner.ModelRunner;
import xllm.engine.sample.Sampler;

/**
 * Greedy agreement for models whose arithmetic is rounded (quantized weights or activations): fed the
 * reference continuation one position at a time, the model must pick the reference token at every
 * position, or one whose logit beats the reference token's by less than {@code margin}: a near tie that
 * any rounding may break either way. At most {@code maxTies} positions may go the other way: more of them
 * would be a drift, not rounding.
 */
final class NearTies {
    private NearTies() {
    }

    static void assertGreedyAgrees(CausalLM model, int[] prompt, int[] reference, float margin, int maxTies) {
        int vocab = model.config().vocabSize();
        int[] sequence = java.util.Arrays.copyOf(prompt, prompt.length + reference.length);
        System.arraycopy(reference, 0, sequence, prompt.length, reference.length);
        int ties = 0;
        try (ComputePool pool = new ComputePool(2); ModelRunner runner = new ModelRunner(model, pool, 64, 16)) {
            PromptSteps steps = new PromptSteps(runner);
            float[] logits = steps.logits(sequence, 0, prompt.length);
            for (int i = 0; i < reference.length; i++) {
                int best = Sampler.argmax(logits, 0, vocab);
                float gap = logits[best] - logits[reference[i]];
                assertTrue(gap < margin, "position " + i + ": picked " + best + " over the reference " + reference[i] + " by " + gap);
                if (best != reference[i]) {
                    ties++;
                }
                if (i + 1 < reference.length) {
                    logits = steps.logits(sequence, prompt.length + i, 1);
                }
            }
        }
        assertTrue(ties <= maxTies, ties + " of " + reference.length + " positions picked another token than the reference (at most "
                + maxTies + " near ties expected)");
    }
}
