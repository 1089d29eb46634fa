package xllm.api;

/**
 * One node (a server on some machine) as a router sees it through etcd and its probes.
 *
 * @param role "prefill", "decode" or "mixed"
 * @param alive registered under a live lease and answering its health probe
 * @param load requests running plus waiting, as the node last published
 */
public record NodeStatus(String name, String url, String role, boolean alive, int load) {
}
