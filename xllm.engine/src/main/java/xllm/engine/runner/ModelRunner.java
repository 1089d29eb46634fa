package xllm.engine.runner;

import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.ForwardPass;
import xllm.engine.model.StepBatch;
import xllm.engine.model.Workspace;
import xllm.kv.BlockAllocator;
import xllm.kv.KvDtype;
import xllm.kv.PageArena;

/**
 * Executes one batch at a time on a model: owns the paged KV arena and its block allocator, the reusable
 * activation buffers and the logits buffer. The scheduler decides; the runner only executes.
 * Owned by one engine loop thread.
 */
public final class ModelRunner implements AutoCloseable {
    private final CausalLM model;
    private final ComputePool pool;
    private final PageArena arena;
    private final BlockAllocator allocator;
    private final Workspace workspace;
    private final int vocabSize;
    private float[] logits = new float[0];
    private ForwardPass pass;

    /** A runner whose KV cache stores floats. */
    public ModelRunner(CausalLM model, ComputePool pool, int numBlocks, int blockSize) {
        this(model, pool, numBlocks, blockSize, KvDtype.F32);
    }

    public ModelRunner(CausalLM model, ComputePool pool, int numBlocks, int blockSize, KvDtype kvDtype) {
        if (kvDtype == KvDtype.F16 && !model.supportsF16Cache(blockSize)) {
            throw new IllegalArgumentException("this model cannot keep an f16 KV cache in blocks of " + blockSize
                    + " slots here (it needs the native attention kernel, grouped-query attention and a block size that is a multiple of 16)");
        }
        this.model = model;
        this.pool = pool;
        this.arena = new PageArena(numBlocks, blockSize, model.numLayers(), model.kvFloatsPerSlot(), kvDtype);
        this.allocator = new BlockAllocator(numBlocks, blockSize);
        this.workspace = new Workspace(pool.threads());
        this.vocabSize = model.config().vocabSize();
    }

    /** Blocks that fit in {@code bytes} of float KV memory for {@code model} (at least one). */
    public static int blocksForBudget(CausalLM model, long bytes, int blockSize) {
        return blocksForBudget(model, bytes, blockSize, KvDtype.F32);
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
     * Runs one forward pass. Returns the logits buffer: row {@code batch.sampleRow(seq)} holds the next-token
     * logits of sequence {@code seq}, {@code vocabSize()} floats each. Valid until the next call.
     */
    public float[] execute(StepBatch batch) {
        int needed = batch.numSampled() * vocabSize;
        if (logits.length < needed) {
            logits = new float[Math.max(needed, logits.length * 2)];
        }
        if (pass == null || pass.batch() != batch) {
            pass = new ForwardPass(batch, arena, workspace, pool); // once per batch object, not per step
        }
        model.forward(pass, logits);
        return logits;
    }

    public CausalLM model() {
        return model;
    }

    public BlockAllocator allocator() {
        return allocator;
    }

    public int blockSize() {
        return arena.blockSize();
    }

    public KvDtype kvDtype() {
        return arena.dtype();
    }

    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public void close() {
        arena.close();
    }
}
