package xllm.sched.cluster;

/**
 * Where a handed-off prompt's KV lies: the prefill worker and its process (its arena file is named by both),
 * and the blocks of that arena holding the first {@code tokens} tokens.
 */
record KvSource(int worker, long pid, int tokens, int[] blocks) {
}
