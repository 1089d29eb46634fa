package xllm.sched.cluster;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import xllm.sched.Histogram;
import xllm.sched.PrometheusText;

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

    /**
     * Forgets the requests of the serving path's warm-up: where they went, resumes and KV handoffs. Restarts and role
     * switches stay: they changed the cluster.
     */
    void forgetWarmUp() {
        for (int i = 0; i < routed.length(); i++) {
            routed.set(i, 0);
        }
        resumed.reset();
        admitted.reset();
        kvTransferBytes.reset();
        kvTransferSeconds.reset();
    }

    String render(WorkerLink[] links) {
        StringBuilder out = new StringBuilder(2048);
        PrometheusText.family(out, "xllm:routed_requests_total", "counter", "Requests the router placed on each worker, by what decided it.");
        for (int w = 0; w < workers; w++) {
            out.append("xllm:routed_requests_total{worker=\"").append(w).append("\",reason=\"prefix\"} ").append(routed.get(w * 2 + 1)).append('\n');
            out.append("xllm:routed_requests_total{worker=\"").append(w).append("\",reason=\"load\"} ").append(routed.get(w * 2)).append('\n');
        }
        PrometheusText.counter(out, "xllm:worker_restarts_total", "Worker processes restarted after they ended.", restarts.sum());
        PrometheusText.counter(out, "xllm:resumed_requests_total", "Requests moved to another worker and resumed from their emitted tokens.", resumed.sum());
        PrometheusText.counter(out, "xllm:admitted_requests_total", "Requests the router accepted.", admitted.sum());
        PrometheusText.counter(out, "xllm:kv_transfer_bytes_total", "Bytes of KV blocks copied from prefill workers to decode workers.",
                kvTransferBytes.sum());
        kvTransferSeconds.render(out, "");
        PrometheusText.counter(out, "xllm:role_switches_total", "Workers whose role the router switched to follow the load.", roleSwitches.sum());
        PrometheusText.family(out, "xllm:worker_role", "gauge", "The role each worker has now (1 for its current role).");
        for (WorkerLink l : links) {
            out.append("xllm:worker_role{worker=\"").append(l.id).append("\",role=\"").append(l.role.label()).append("\"} 1\n");
        }
        PrometheusText.family(out, "xllm:worker_load", "gauge", "Requests running plus waiting on each worker, from its heartbeat.");
        for (WorkerLink l : links) {
            out.append("xllm:worker_load{worker=\"").append(l.id).append("\"} ").append(l.lastBeat.load()).append('\n');
        }
        return out.toString();
    }
}
