package xllm.engine.model;

import xllm.engine.kernel.Rope;

/**
 * How rotary position frequencies are derived: the base {@code theta} and an optional scaling rule
 * ("default", "linear", "llama3" or "yarn", as Hugging Face names them). The yarn fields
 * ({@code betaFast}, {@code betaSlow}, {@code mscale}, {@code mscaleAllDim}; 0 when absent) are read
 * only for "yarn".
 */
public record RopeScaling(String type, double theta, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions, double betaFast, double betaSlow, double mscale, double mscaleAllDim) {

    public static RopeScaling plain(double theta) {
        return new RopeScaling("default", theta, 1, 1, 1, 0, 0, 0, 0, 0);
    }

    /** The rotary embedding for a rotary dimension of {@code rotaryDim}, with this scaling. */
    public Rope ropeFor(int rotaryDim) {
        return new Rope(inverseFrequencies(rotaryDim), rotaryDim, attentionFactor());
    }

    /** Inverse frequencies for a rotary dimension of {@code rotaryDim} (even), scaling applied. */
    public double[] inverseFrequencies(int rotaryDim) {
        int half = rotaryDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / rotaryDim);
        }
        switch (type) {
            case "default" -> { }
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= factor;
                }
            }
            case "llama3" -> {
                double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
                double highFreqWavelen = originalMaxPositions / highFreqFactor;
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowFreqWavelen) {
                        inv[i] = inv[i] / factor;
                    } else if (wavelen >= highFreqWavelen) {
                        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
            case "yarn" -> yarn(inv, rotaryDim);
            default -> throw new IllegalArgumentException("unsupported rope scaling type " + type);
        }
        return inv;
    }

    /** YaRN: interpolate the low frequencies by {@code factor}, keep the high ones, ramp linearly between. */
    private void yarn(double[] inv, int rotaryDim) {
        if (originalMaxPositions <= 0 || factor <= 0) {
            throw new IllegalArgumentException("yarn rope scaling needs factor and original_max_position_embeddings");
        }
        double fast = betaFast > 0 ? betaFast : 32;
        double slow = betaSlow > 0 ? betaSlow : 1;
        double low = Math.max(Math.floor(correctionDim(fast, rotaryDim)), 0);
        double high = Math.min(Math.ceil(correctionDim(slow, rotaryDim)), rotaryDim - 1);
        if (low == high) {
            high += 0.001;
        }
        for (int i = 0; i < inv.length; i++) {
            double ramp = Math.clamp((i - low) / (high - low), 0.0, 1.0);
            double extrapolation = 1 - ramp;
            inv[i] = inv[i] / factor * (1 - extrapolation) + inv[i] * extrapolation;
        }
    }

    private double correctionDim(double rotations, int rotaryDim) {
        return rotaryDim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }

    /** The factor YaRN applies to cos and sin (1 for every other type). */
    public float attentionFactor() {
        if (!type.equals("yarn")) {
            return 1f;
        }
        return (float) (mscale != 0 && mscaleAllDim != 0
                ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim)
                : yarnMscale(factor, 1));
    }

    /** YaRN's magnitude correction {@code 0.1 * m * ln(scale) + 1} (1 when not scaling up). */
    public static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }
}
