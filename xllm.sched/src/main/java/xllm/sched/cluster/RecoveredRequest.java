package xllm.sched.cluster;

import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.engine.scheduler.StopRule;

/**
 * A request that an earlier router accepted and did not finish, as its journal tells it.
 *
 * @param offline part of a job, to be resumed; interactive ones died with their connections
 * @param tokens the output tokens its client had received
 */
record RecoveredRequest(GenerateRequest request, boolean offline, int[] tokens) {
    /** Why the request had already ended with the tokens its client got (the journal can lag its end), or null. */
    FinishReason endedBy(int[] eosIds, int maxModelLength) {
        if (tokens.length == 0) {
            return null;
        }
        return StopRule.after(tokens[tokens.length - 1], request.params(), eosIds, tokens.length,
                request.promptLength() + tokens.length, maxModelLength);
    }
}
