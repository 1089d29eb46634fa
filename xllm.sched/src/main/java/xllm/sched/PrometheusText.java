package xllm.sched;

/** Metric families in Prometheus's text exposition format, as every renderer of this module writes them. */
public final class PrometheusText {
    private PrometheusText() {
    }

    /** The {@code # HELP} and {@code # TYPE} lines of a family; its samples follow. */
    public static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** One sample of family {@code name}; {@code labels} as Prometheus writes them inside braces, empty for none. */
    public static void sample(StringBuilder out, String name, String labels, long value) {
        out.append(name);
        if (!labels.isEmpty()) {
            out.append('{').append(labels).append('}');
        }
        out.append(' ').append(value).append('\n');
    }

    /** A counter without labels. */
    public static void counter(StringBuilder out, String name, String help, long value) {
        family(out, name, "counter", help);
        sample(out, name, "", value);
    }

    /** A gauge without labels. */
    public static void gauge(StringBuilder out, String name, String help, long value) {
        family(out, name, "gauge", help);
        sample(out, name, "", value);
    }
}
