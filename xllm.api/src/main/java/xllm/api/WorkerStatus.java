package xllm.api;

/**
 * One worker process as its last heartbeat showed it.
 *
 * @param role "prefill", "decode" or "mixed"
 * @param load requests running plus waiting
 * @param freeKvBlocks KV blocks free for new work
 */
public record WorkerStatus(int id, long pid, String role, boolean alive, int load, int freeKvBlocks) {
}
