package xllm.sched.cluster;

import java.util.Locale;

/**
 * What the router sends a worker, as xLLM's instance roles: a prefill worker computes prompts and their first
 * token and hands the KV cache on; a decode worker generates the rest; a mixed worker does whole requests.
 */
public enum WorkerRole {
    PREFILL, DECODE, MIXED;

    /** The role as users write it: {@code prefill}, {@code decode} or {@code mixed}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a label; throws {@link IllegalArgumentException} naming the accepted ones. */
    public static WorkerRole parse(String label) {
        for (WorkerRole r : values()) {
            if (r.label().equals(label.trim())) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown worker role '" + label + "' (prefill, decode or mixed)");
    }

    /** Whether it takes new prompts. */
    boolean prefills() {
        return this != DECODE;
    }

    /** Whether it takes requests whose prompt another worker computed. */
    boolean decodes() {
        return this != PREFILL;
    }
}
