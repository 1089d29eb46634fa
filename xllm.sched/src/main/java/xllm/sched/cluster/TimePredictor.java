package xllm.sched.cluster;

/**
 * One worker's step times as xLLM's time predictor models them, fitted to what the worker was seen doing
 * rather than to a profile taken beforehand: time to first token a + b*L + c*L² of the prompt length L, and
 * time per output token c0 + c1*batch + c2*tokens of a decode step (tokens: the batch's context tokens). Each
 * fit covers the last {@link #WINDOW} samples of its kind, so it follows a machine whose speed changes, and is
 * redone on the first prediction after new samples.
 *
 * <p>A fit that the samples cannot support drops terms: prompts all of one length give their mean time,
 * two lengths a line; a fit that would have time fall as work grows (a concave parabola, a negative slope)
 * drops its highest term too, so that predictions beyond the lengths seen do not run off. Predictions are
 * never negative.
 *
 * <p>Thread-safe: the thread that sees steps observes, router threads predict; all under this object's lock,
 * neither being on a per-token path.
 */
final class TimePredictor {
    /** Samples of each kind kept. */
    static final int WINDOW = 256;
    /** Samples of a kind before its predictions count as known. */
    static final int MIN_SAMPLES = 4;

    private final RegressionWindow prefill = new RegressionWindow(WINDOW);
    private final RegressionWindow decode = new RegressionWindow(WINDOW);
    private double[] ttft = {0, 0, 0};
    private double[] tpot = {0, 0, 0};
    private boolean prefillChanged;
    private boolean decodeChanged;

    /** A prefill of {@code promptTokens} tokens that took {@code seconds}. */
    synchronized void observePrefill(int promptTokens, double seconds) {
        if (promptTokens < 1 || !(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("a prefill sample needs a positive length and a finite time >= 0, got "
                    + promptTokens + " tokens in " + seconds + " s");
        }
        prefill.add(promptTokens, (double) promptTokens * promptTokens, seconds);
        prefillChanged = true;
    }

    /** A decode step of {@code batch} sequences holding {@code contextTokens} tokens in all that took {@code seconds}. */
    synchronized void observeDecode(int batch, long contextTokens, double seconds) {
        if (batch < 1 || contextTokens < 0 || !(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("a decode sample needs a positive batch, tokens >= 0 and a finite time >= 0, got batch "
                    + batch + ", " + contextTokens + " tokens in " + seconds + " s");
        }
        decode.add(batch, contextTokens, seconds);
        decodeChanged = true;
    }

    /** Seconds to the first token of a prompt of {@code promptTokens}; 0 before any sample. */
    synchronized double predictTtft(int promptTokens) {
        if (prefillChanged) {
            ttft = fitTtft();
            prefillChanged = false;
        }
        double l = promptTokens;
        return Math.max(0, ttft[0] + ttft[1] * l + ttft[2] * l * l);
    }

    /** Seconds per decode step of {@code batch} sequences holding {@code contextTokens}; 0 before any sample. */
    synchronized double predictTpot(int batch, long contextTokens) {
        if (decodeChanged) {
            tpot = fitTpot();
            decodeChanged = false;
        }
        return Math.max(0, tpot[0] + tpot[1] * batch + tpot[2] * contextTokens);
    }

    /** Whether enough prefills were seen for {@link #predictTtft} to mean something. */
    synchronized boolean knowsPrefill() {
        return prefill.size() >= MIN_SAMPLES;
    }

    /** Whether enough decode steps were seen for {@link #predictTpot} to mean something. */
    synchronized boolean knowsDecode() {
        return decode.size() >= MIN_SAMPLES;
    }

    /** The parabola if it rises over every length from the shortest seen on, else the line if it rises, else the mean. */
    private double[] fitTtft() {
        double[] quadratic = prefill.fit(true, true);
        if (quadratic != null && quadratic[2] >= 0 && quadratic[1] + 2 * quadratic[2] * prefill.minU() >= 0) {
            return quadratic;
        }
        double[] line = prefill.fit(true, false);
        if (line != null && line[1] >= 0) {
            return line;
        }
        return orZero(prefill.fit(false, false));
    }

    /**
     * Batch and tokens if neither lowers the time, else the one that does not lower it alone, else the other
     * (tokens first when they are collinear: the KV cache a step reads grows with them), else the mean.
     */
    private double[] fitTpot() {
        double[] both = decode.fit(true, true);
        if (rising(both)) {
            return both;
        }
        boolean batchFirst = both != null && both[1] >= 0;
        for (boolean batch : new boolean[] {batchFirst, !batchFirst}) {
            double[] one = decode.fit(batch, !batch);
            if (rising(one)) {
                return one;
            }
        }
        return orZero(decode.fit(false, false));
    }

    private static boolean rising(double[] coefficients) {
        return coefficients != null && coefficients[1] >= 0 && coefficients[2] >= 0;
    }

    private static double[] orZero(double[] coefficients) {
        return coefficients != null ? coefficients : new double[] {0, 0, 0};
    }
}
