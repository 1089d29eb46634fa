package xllm.sched.cluster;

import java.util.HashMap;
import java.util.Map;
import xllm.kv.PageArena;

/**
 * The KV arenas of the other workers, as a decode worker maps them to copy handed-off blocks: one read-only
 * mapping per worker process, opened on first use. A worker restarted under a new process id has a new arena
 * file; the mapping of its predecessor is closed then (a copy still running from it fails safely and the
 * prompt is recomputed). Used by the worker's request reader only.
 */
final class PeerArenas implements AutoCloseable {
    private record Mapped(long pid, PageArena arena) {
    }

    private final ShmLayout layout;
    private final Map<Integer, Mapped> mapped = new HashMap<>();

    PeerArenas(ShmLayout layout) {
        this.layout = layout;
    }

    /** The arena of {@code worker}'s process {@code pid}, or null when it cannot be mapped (gone, torn). */
    PageArena arena(int worker, long pid) {
        Mapped m = mapped.get(worker);
        if (m != null && m.pid() == pid) {
            return m.arena();
        }
        if (m != null && m.pid() > 0 && pid != m.pid()) {
            mapped.remove(worker).arena().close();
        }
        try {
            PageArena arena = PageArena.openPeer(layout.kvPages(worker, pid));
            mapped.put(worker, new Mapped(pid, arena));
            return arena;
        } catch (RuntimeException e) {
            System.err.println("xllm worker: cannot map the KV of worker " + worker + " (pid " + pid + "): " + e.getMessage());
            return null;
        }
    }

    @Override
    public void close() {
        for (Mapped m : mapped.values()) {
            m.arena().close();
        }
        mapped.clear();
    }
}
