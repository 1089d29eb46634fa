package xllm.sched.nodes;

/**
 * What a node publishes of its load about every second.
 *
 * @param load requests running plus waiting
 * @param kvUsage fraction of the KV cache in use, 0 to 1
 */
public record NodeLoad(int load, double kvUsage) {
}
