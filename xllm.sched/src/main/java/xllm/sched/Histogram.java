package xllm.sched;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** A Prometheus histogram with fixed bucket bounds in seconds. Written by one thread, read by any. */
public final class Histogram {
    final String name;
    final String help;
    private final double[] bounds;
    private final AtomicLongArray counts;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong sumNanos = new AtomicLong();

    public Histogram(String name, String help, double... bounds) {
        this.name = name;
        this.help = help;
        this.bounds = bounds;
        this.counts = new AtomicLongArray(bounds.length);
    }

    public void observeNanos(long nanos) {
        double seconds = nanos / 1e9;
        for (int i = 0; i < bounds.length; i++) {
            if (seconds <= bounds[i]) {
                counts.incrementAndGet(i);
            }
        }
        count.incrementAndGet();
        sumNanos.addAndGet(nanos);
    }

    /** Back to no observations; only while nothing observes concurrently (see {@link ServiceMetrics#forgetWarmUp}). */
    public void reset() {
        for (int i = 0; i < bounds.length; i++) {
            counts.set(i, 0);
        }
        count.set(0);
        sumNanos.set(0);
    }

    /** @param labels Prometheus labels without braces ({@code a="b",c="d"}), or empty */
    public void render(StringBuilder out, String labels) {
        String sep = labels.isEmpty() ? "" : ",";
        PrometheusText.family(out, name, "histogram", help);
        for (int i = 0; i < bounds.length; i++) {
            out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"").append(bounds[i]).append("\"} ")
                    .append(counts.get(i)).append('\n');
        }
        out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ").append(count.get()).append('\n');
        out.append(name).append("_sum{").append(labels).append("} ").append(sumNanos.get() / 1e9).append('\n');
        out.append(name).append("_count{").append(labels).append("} ").append(count.get()).append('\n');
    }
}
