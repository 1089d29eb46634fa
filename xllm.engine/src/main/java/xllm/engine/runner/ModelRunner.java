package xllm.engine.runner;

import java.nio.file.Path;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ForwardPass;
import xllm.engine.model.StepBatch;
import xllm.engine.model.Workspace;
import xllm.kv.KvDtype;
import xllm.kv.PageArena;

/**
 * Executes one step at a time on a model: owns the KV pages (the arena), the reusable activation buffers and
 * the logits buffer. Which block holds what is the scheduler's business: a step names its block ids, and the
 * runner only executes. Owned by one engine loop thread.
 */
public final class ModelRunner implements AutoCloseable {
    private final CausalLM model;
    private final ComputePool pool;
    private final PageArena arena;
    private final Workspace workspace;
    private final StepOutput output;
    private ForwardPass pass;
    private boolean keepHiddenStates;

    /** A runner whose KV cache stores floats. */
    public ModelRunner(CausalLM model, ComputePool pool, int numBlocks, int blockSize) {
        this(model, pool, numBlocks, blockSize, KvDtype.F32);
    }

    public ModelRunner(CausalLM model, ComputePool pool, int numBlocks, int blockSize, KvDtype kvDtype) {
        this(model, pool, numBlocks, blockSize, kvDtype, null);
    }

    /**
     * @param sharedKvFile where to keep the KV pages so that co-located processes can map them
     *                     ({@link PageArena#createShared}); null for private memory
     */
    public ModelRunner(CausalLM model, ComputePool pool, int numBlocks, int blockSize, KvDtype kvDtype, Path sharedKvFile) {
        if (kvDtype == KvDtype.F16 && !model.supportsF16Cache(blockSize)) {
            throw new IllegalArgumentException("this model cannot keep an f16 KV cache in blocks of " + blockSize
                    + " slots here (it needs the native attention kernel, grouped-query attention and a block size that is a multiple of 16)");
        }
        this.model = model;
        this.pool = pool;
        this.arena = sharedKvFile == null
                ? new PageArena(numBlocks, blockSize, model.numLayers(), model.kvFloatsPerSlot(), kvDtype)
                : PageArena.createShared(sharedKvFile, numBlocks, blockSize, model.numLayers(), model.kvFloatsPerSlot(), kvDtype);
        this.workspace = new Workspace(pool.threads());
        this.output = new StepOutput(model.config().vocabSize());
    }

    /** Blocks that fit in {@code bytes} of KV memory stored as {@code kvDtype} (at least one). */
    public static int blocksForBudget(CausalLM model, long bytes, int blockSize, KvDtype kvDtype) {
        long perBlock = PageArena.bytesPerToken(model.numLayers(), model.kvFloatsPerSlot(), kvDtype) * blockSize;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / perBlock));
    }

    /** The smallest KV element {@code model} can use in blocks of {@code blockSize}: f16 where it can, else f32. */
    public static KvDtype compactKv(CausalLM model, int blockSize) {
        return model.supportsF16Cache(blockSize) ? KvDtype.F16 : KvDtype.F32;
    }

    /**
     * Whether every step's output also holds each token's final hidden state ({@link StepOutput#hiddenStates()}),
     * for a proposer that drafts from them; off by default, and then nothing is copied.
     */
    public void keepHiddenStates(boolean keep) {
        this.keepHiddenStates = keep;
    }

    /** Runs one forward pass over {@code batch}; the output holds the logits of its sampled entries. */
    public StepOutput execute(StepBatch batch) {
        checkBlocks(batch);
        float[] logits = output.prepare(batch);
        if (pass == null || pass.batch() != batch) {
            pass = new ForwardPass(batch, arena, workspace, pool); // once per batch object, not per step
        }
        if (keepHiddenStates) {
            model.forward(pass, logits, output.prepareHiddenStates(model.config().hiddenSize()));
        } else {
            model.forward(pass, logits);
        }
        return output;
    }

    /** Every position of the step must lie in a block of this arena: the kernels read the pages unchecked. */
    private void checkBlocks(StepBatch batch) {
        int blockSize = arena.blockSize();
        int numBlocks = arena.numBlocks();
        for (int e = 0; e < batch.numEntries(); e++) {
            int last = batch.firstToken(e) + batch.tokenCount(e) - 1;
            int count = batch.blockCount(e);
            if (batch.position(last) >= count * blockSize) {
                throw new IllegalArgumentException("entry " + e + " reaches position " + batch.position(last) + " but names only "
                        + count + " blocks of " + blockSize);
            }
            int[] blocks = batch.blocks(e);
            for (int i = 0; i < count; i++) {
                if (blocks[i] < 0 || blocks[i] >= numBlocks) {
                    throw new IllegalArgumentException("entry " + e + " names KV block " + blocks[i] + " of " + numBlocks);
                }
            }
        }
    }

    public CausalLM model() {
        return model;
    }

    /** KV blocks in the arena: the ids a step may name are {@code 0 .. numBlocks()-1}. */
    public int numBlocks() {
        return arena.numBlocks();
    }

    public int blockSize() {
        return arena.blockSize();
    }

    /** The KV pages, for copying blocks in from another instance's arena between steps. */
    /**
     * Gives back what an idle engine need not hold: the pages of KV blocks {@code blocks[0 .. count)} (free,
     * ascending) and the step workspace. Returns the KV bytes given back.
     */
    public long releaseIdle(int[] blocks, int count) {
        workspace.shrink();
        return arena.releaseBlocks(blocks, count);
    }

    public PageArena arena() {
        return arena;
    }

    public KvDtype kvDtype() {
        return arena.dtype();
    }

    public int vocabSize() {
        return output.vocabSize();
    }

    @Override
    public void close() {
        arena.close();
    }
}
