package xllm.sched.cluster;

/**
 * The last {@code capacity} samples of a value y against two features u and v, in a ring of primitive arrays,
 * and their least-squares fit y = c0 + cu*u + cv*v over any subset of the two. Not thread-safe: its owner
 * ({@link TimePredictor}) guards it.
 */
final class RegressionWindow {
    /** Below this the features are taken as collinear (or constant) and the fit as undetermined. */
    private static final double SINGULAR = 1e-9;

    private final double[] u;
    private final double[] v;
    private final double[] y;
    private int size;
    private int next;

    RegressionWindow(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a window holds at least one sample, got " + capacity);
        }
        u = new double[capacity];
        v = new double[capacity];
        y = new double[capacity];
    }

    /** Adds a sample, replacing the oldest once the window is full. */
    void add(double uValue, double vValue, double yValue) {
        u[next] = uValue;
        v[next] = vValue;
        y[next] = yValue;
        next = (next + 1) % y.length;
        size = Math.min(size + 1, y.length);
    }

    int size() {
        return size;
    }

    /** The smallest u held; 0 when empty. */
    double minU() {
        double min = size == 0 ? 0 : Double.POSITIVE_INFINITY;
        for (int i = 0; i < size; i++) {
            min = Math.min(min, u[i]);
        }
        return min;
    }

    /**
     * The least-squares coefficients {c0, cu, cv} using the features asked for (an unused one gets 0), or null
     * when the window is empty or those features do not vary independently over it (then fewer terms fit).
     * Centred and scaled by their spread, so that u and u² of prompt lengths in the thousands solve as well as
     * small numbers do.
     */
    double[] fit(boolean useU, boolean useV) {
        if (size == 0) {
            return null;
        }
        double mu = mean(u);
        double mv = mean(v);
        double my = mean(y);
        double suu = 0;
        double svv = 0;
        double suv = 0;
        double suy = 0;
        double svy = 0;
        for (int i = 0; i < size; i++) {
            double du = u[i] - mu;
            double dv = v[i] - mv;
            double dy = y[i] - my;
            suu += du * du;
            svv += dv * dv;
            suv += du * dv;
            suy += du * dy;
            svy += dv * dy;
        }
        if ((useU && !varies(suu, mu)) || (useV && !varies(svv, mv))) {
            return null;
        }
        double cu = 0;
        double cv = 0;
        if (useU && useV) {
            // Solve in correlation form: [1 r; r 1] [bu bv] = [ru rv], bu and bv per unit of spread.
            double su = Math.sqrt(suu);
            double sv = Math.sqrt(svv);
            double r = suv / (su * sv);
            double det = 1 - r * r;
            if (det < SINGULAR) {
                return null;
            }
            double ru = suy / su;
            double rv = svy / sv;
            cu = (ru - r * rv) / det / su;
            cv = (rv - r * ru) / det / sv;
        } else if (useU) {
            cu = suy / suu;
        } else if (useV) {
            cv = svy / svv;
        }
        return new double[] {my - cu * mu - cv * mv, cu, cv};
    }

    private double mean(double[] values) {
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += values[i];
        }
        return sum / size;
    }

    /** Whether a feature's squared deviations are more than rounding around its mean. */
    private boolean varies(double squaredDeviations, double mean) {
        double spread = Math.sqrt(squaredDeviations / size);
        return spread > SINGULAR * Math.max(1, Math.abs(mean));
    }
}
