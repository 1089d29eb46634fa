package xllm.sched.cluster;

import xllm.sched.SpecDecodeCounts;
import xllm.sched.StepTimes;

/**
 * What a worker says of itself every {@value ClusterWorker#HEARTBEAT_MILLIS} ms.
 *
 * @param pid the worker's process, so that the router can ignore one it has since replaced
 * @param load requests running plus waiting
 * @param kvUsage the used fraction of its KV cache
 * @param spec what the process has speculated since it started, for the router's /metrics
 * @param steps its step times since the last heartbeat, for the router's latency predictors
 * @param cache its prefix-cache changes since the last heartbeat, for the router's KV index
 */
record Heartbeat(long pid, int load, int freeBlocks, int totalBlocks, double kvUsage, SpecDecodeCounts spec, StepTimes.Taken steps,
                 CacheChanges cache) {
    /** Before a worker's first heartbeat. */
    static final Heartbeat NONE = new Heartbeat(-1, 0, 0, 0, 0, SpecDecodeCounts.NONE, StepTimes.Taken.NONE, CacheChanges.NONE);
}
