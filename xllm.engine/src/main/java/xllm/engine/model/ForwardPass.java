package xllm.engine.model;

import xllm.engine.kernel.ComputePool;
import xllm.kv.PageArena;

/** What every layer of one forward pass reads: the batch, the KV arena, the buffers and the compute pool. */
public record ForwardPass(StepBatch batch, PageArena kv, Workspace workspace, ComputePool pool) {
}
