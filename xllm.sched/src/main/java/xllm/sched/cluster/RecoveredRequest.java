package xllm.sched.cluster;

import xllm.api.GenerateRequest;

/**
 * A request that an earlier router accepted and did not finish, as its journal tells it.
 *
 * @param offline part of a job, to be resumed; interactive ones died with their connections
 * @param tokens the output tokens its client had received
 */
record RecoveredRequest(GenerateRequest request, boolean offline, int[] tokens) {
}
