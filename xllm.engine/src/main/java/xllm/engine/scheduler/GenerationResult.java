package xllm.engine.scheduler;

import xllm.api.FinishReason;

/** The generated token ids of one request and why generation ended. */
public record GenerationResult(int[] promptIds, int[] tokenIds, FinishReason finishReason) {
}
