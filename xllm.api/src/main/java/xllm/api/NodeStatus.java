package xllm.api;

/**
 * One node (a server on some machine) as a router sees it through etcd and its probes.
 *
 * @param role "prefill", "decode" or "mixed"
 * @param alive registered under a live lease and answering its health probe
 * @param load requests running plus waiting, as the node last published
 * @param cachedBlocks prefix blocks the global index lists on this node, as this router's copy of it has them
 */
public record NodeStatus(String name, String url, String role, boolean alive, int load, int cachedBlocks) {
}
