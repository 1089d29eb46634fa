package xllm.engine.model;

import java.util.Arrays;
import java.util.List;
import xllm.engine.runner.ModelRunner;
import xllm.engine.runner.StepOutput;

/**
 * Forward passes straight on a runner, for tests of a model's logits: each prompt's KV lies in consecutive
 * blocks of the arena, the first prompt's from block 0, so no scheduler is needed to name them.
 */
final class PromptSteps {
    private final ModelRunner runner;
    private final StepBatch.Builder step = new StepBatch.Builder();

    PromptSteps(ModelRunner runner) {
        this.runner = runner;
    }

    /**
     * Runs {@code count} tokens of {@code sequence} from position {@code from} (its earlier positions already
     * cached by an earlier call) and returns the logits after the last of them.
     */
    float[] logits(int[] sequence, int from, int count) {
        step.clear();
        addSequence(0, 0, sequence, from, count);
        return row(runner.execute(step.batch()), 0);
    }

    /** Prefills every prompt in one step and returns each one's logits after its last token. */
    float[][] lastLogits(List<int[]> prompts) {
        step.clear();
        int firstBlock = 0;
        for (int i = 0; i < prompts.size(); i++) {
            int[] prompt = prompts.get(i);
            addSequence(i, firstBlock, prompt, 0, prompt.length);
            firstBlock += blocksFor(prompt.length);
        }
        StepOutput output = runner.execute(step.batch());
        float[][] rows = new float[prompts.size()][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = row(output, i);
        }
        return rows;
    }

    private void addSequence(int id, int firstBlock, int[] tokens, int from, int count) {
        int[] blocks = new int[blocksFor(from + count)];
        Arrays.setAll(blocks, b -> firstBlock + b);
        if (firstBlock + blocks.length > runner.numBlocks()) {
            throw new IllegalArgumentException("the runner's " + runner.numBlocks() + " blocks cannot hold these prompts");
        }
        step.add(id, tokens, from, count, from, blocks, blocks.length, true);
    }

    private int blocksFor(int tokens) {
        return (tokens + runner.blockSize() - 1) / runner.blockSize();
    }

    private static float[] row(StepOutput output, int entry) {
        int offset = output.logitsOffset(entry);
        return Arrays.copyOfRange(output.logits(), offset, offset + output.vocabSize());
    }
}
