package xllm.engine.scheduler;

import xllm.api.SamplingParams;

/** A prompt, as token ids, and how to continue it. */
public record GenerationRequest(int[] promptIds, SamplingParams params) {
    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt must contain at least one token");
        }
        promptIds = promptIds.clone();
    }
}
