package xllm.sched;

/**
 * The latest step times of one engine instance, for a router that predicts its latencies: steps that only
 * computed prompt tokens (how long a prefill of n tokens takes) and steps that only decoded (how long a
 * decode step of a batch takes). Each kind keeps the newest {@value #CAPACITY} samples not yet taken.
 * Recorded on the engine thread without allocating; taken by the heartbeat thread.
 */
public final class StepTimes {
    static final int CAPACITY = 64;

    /** Samples taken at once: prefill (tokens, nanos) and decode (batch, context tokens, nanos), oldest first. */
    public record Taken(int[] prefillTokens, long[] prefillNanos, int[] decodeBatch, long[] decodeContext, long[] decodeNanos) {
        public static final Taken NONE = new Taken(new int[0], new long[0], new int[0], new long[0], new long[0]);
    }

    private final int[] prefillTokens = new int[CAPACITY];
    private final long[] prefillNanos = new long[CAPACITY];
    private int prefills;
    private final int[] decodeBatch = new int[CAPACITY];
    private final long[] decodeContext = new long[CAPACITY];
    private final long[] decodeNanos = new long[CAPACITY];
    private int decodes;

    /** Keeps a step's time if it was pure prefill or pure decode; mixed steps say nothing clear about either. */
    public synchronized void step(int prefillTokens, int decodeSequences, long decodeContextTokens, long nanos) {
        if (decodeSequences == 0 && prefillTokens > 0) {
            int i = prefills++ % CAPACITY;
            this.prefillTokens[i] = prefillTokens;
            this.prefillNanos[i] = nanos;
        } else if (prefillTokens == 0 && decodeSequences > 0) {
            int i = decodes++ % CAPACITY;
            decodeBatch[i] = decodeSequences;
            decodeContext[i] = decodeContextTokens;
            decodeNanos[i] = nanos;
        }
    }

    /** The samples since the last call, and forgets them. */
    public synchronized Taken take() {
        if (prefills == 0 && decodes == 0) {
            return Taken.NONE;
        }
        int p = Math.min(prefills, CAPACITY);
        int d = Math.min(decodes, CAPACITY);
        Taken t = new Taken(new int[p], new long[p], new int[d], new long[d], new long[d]);
        for (int k = 0; k < p; k++) {
            int i = (prefills - p + k) % CAPACITY;
            t.prefillTokens()[k] = prefillTokens[i];
            t.prefillNanos()[k] = prefillNanos[i];
        }
        for (int k = 0; k < d; k++) {
            int i = (decodes - d + k) % CAPACITY;
            t.decodeBatch()[k] = decodeBatch[i];
            t.decodeContext()[k] = decodeContext[i];
            t.decodeNanos()[k] = decodeNanos[i];
        }
        prefills = 0;
        decodes = 0;
        return t;
    }
}
