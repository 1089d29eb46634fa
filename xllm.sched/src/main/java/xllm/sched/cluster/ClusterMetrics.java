package xllm.sched.cluster;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import xllm.sched.Histogram;

/**
 * The router's Prometheus metrics: where requests went and why, restarts and resumes, KV handed from prefill to
 * decode workers, role switches. Thread-safe.
 */
final class ClusterMetrics {
    private final int workers;
    private final AtomicLongArray routed;
    final LongAdder restarts = new LongAdder();
    final LongAdder resumed = new LongAdder();
    final LongAdder admitted = new LongAdder();
    final LongAdder kvTransferBytes = new LongAdder();
    final Histogram kvTransferSeconds = new Histogram("xllm:kv_transfer_seconds",
            "Time a decode worker took to copy a handed-off prompt's KV blocks from the prefill worker's arena.",
            0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0);
    final LongAdder roleSwitches = new LongAdder();

    ClusterMetrics(int workers) {
        this.workers = workers;
        this.routed = new AtomicLongArray(workers * 2);
    }

    void kvTransferred(long bytes, long nanos) {
        kvTransferBytes.add(bytes);
        kvTransferSeconds.observeNanos(nanos);
    }

    void routed(int worker, boolean prefix) {
        routed.incrementAndGet(worker * 2 + (prefix ? 1 : 0));
    }

    String render(WorkerLink[] links) {
        StringBuilder out = new StringBuilder(2048);
        out.append("# HELP xllm:routed_requests_total Requests the router placed on each worker, by what decided it.\n");
        out.append("# TYPE xllm:routed_requests_total counter\n");
        for (int w = 0; w < workers; w++) {
            out.append("xllm:routed_requests_total{worker=\"").append(w).append("\",reason=\"prefix\"} ").append(routed.get(w * 2 + 1)).append('\n');
            out.append("xllm:routed_requests_total{worker=\"").append(w).append("\",reason=\"load\"} ").append(routed.get(w * 2)).append('\n');
        }
        counter(out, "xllm:worker_restarts_total", "Worker processes restarted after they ended.", restarts.sum());
        counter(out, "xllm:resumed_requests_total", "Requests moved to another worker and resumed from their emitted tokens.", resumed.sum());
        counter(out, "xllm:admitted_requests_total", "Requests the router accepted.", admitted.sum());
        counter(out, "xllm:kv_transfer_bytes_total", "Bytes of KV blocks copied from prefill workers to decode workers.",
                kvTransferBytes.sum());
        kvTransferSeconds.render(out, "");
        counter(out, "xllm:role_switches_total", "Workers whose role the router switched to follow the load.", roleSwitches.sum());
        out.append("# HELP xllm:worker_role The role each worker has now (1 for its current role).\n");
        out.append("# TYPE xllm:worker_role gauge\n");
        for (WorkerLink l : links) {
            out.append("xllm:worker_role{worker=\"").append(l.id).append("\",role=\"").append(l.role.label()).append("\"} 1\n");
        }
        out.append("# HELP xllm:worker_load Requests running plus waiting on each worker, from its heartbeat.\n");
        out.append("# TYPE xllm:worker_load gauge\n");
        for (WorkerLink l : links) {
            out.append("xllm:worker_load{worker=\"").append(l.id).append("\"} ").append(l.lastBeat.load()).append('\n');
        }
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n");
        out.append(name).append(' ').append(value).append('\n');
    }
}
