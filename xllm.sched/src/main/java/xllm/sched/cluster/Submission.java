package xllm.sched.cluster;

import xllm.api.GenerateRequest;

/**
 * A request as it crosses to a worker and into the journal: the router's key for it, the request, and
 * the output tokens the client already has (empty for a fresh request, the resume point otherwise).
 */
record Submission(long key, GenerateRequest request, int[] emitted) {
}
