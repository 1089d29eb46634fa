package xllm.engine.kernel;

import java.util.Arrays;

/**
 * Rotary position embedding with cos/sin tables that grow with the longest position seen. Two pairings:
 * "half" (HF rotate_half: element i with i + d/2) and "interleaved" (element 2i with 2i+1).
 * Grown only by the engine loop before a step's parallel work; read by compute threads.
 */
public final class Rope {
    private final int rotaryDim;
    private final double[] inverseFrequencies;
    private final float attentionScale;
    private float[] cos = new float[0];
    private float[] sin = new float[0];
    private int positions;

    public Rope(double[] inverseFrequencies, int rotaryDim, float attentionScale) {
        if (rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dimension must be even, got " + rotaryDim);
        }
        this.rotaryDim = rotaryDim;
        this.inverseFrequencies = inverseFrequencies;
        this.attentionScale = attentionScale;
    }

    /** Makes the tables cover positions {@code [0, maxPosition]}. */
    public void ensurePositions(int maxPosition) {
        if (maxPosition < positions) {
            return;
        }
        int newPositions = Math.max(maxPosition + 1, Math.max(256, positions * 2));
        int half = rotaryDim / 2;
        float[] c = Arrays.copyOf(cos, newPositions * half);
        float[] s = Arrays.copyOf(sin, newPositions * half);
        for (int p = positions; p < newPositions; p++) {
            for (int i = 0; i < half; i++) {
                // float32 angle, as the reference implementations compute it
                float angle = (float) p * (float) inverseFrequencies[i];
                c[p * half + i] = (float) Math.cos(angle) * attentionScale;
                s[p * half + i] = (float) Math.sin(angle) * attentionScale;
            }
        }
        cos = c;
        sin = s;
        positions = newPositions;
    }

    /** Rotates {@code x[offset .. offset+rotaryDim)} for {@code position}, pairing i with i + d/2. */
    public void rotateHalf(float[] x, int offset, int position) {
        int half = rotaryDim / 2;
        int t = position * half;
        for (int i = 0; i < half; i++) {
            float x0 = x[offset + i];
            float x1 = x[offset + i + half];
            float c = cos[t + i];
            float s = sin[t + i];
            x[offset + i] = x0 * c - x1 * s;
            x[offset + i + half] = x1 * c + x0 * s;
        }
    }

    /**
     * Rotates an interleaved layout (pairs 2i, 2i+1), writing the result de-interleaved as rotate_half
     * would see it: DeepSeek's {@code rope_interleave} stores pairs adjacently and permutes before rotating.
     */
    public void rotateInterleaved(float[] x, int offset, int position, float[] scratch) {
        int half = rotaryDim / 2;
        for (int i = 0; i < half; i++) {
            scratch[i] = x[offset + 2 * i];
            scratch[i + half] = x[offset + 2 * i + 1];
        }
        System.arraycopy(scratch, 0, x, offset, rotaryDim);
        rotateHalf(x, offset, position);
    }

    public int rotaryDim() {
        return rotaryDim;
    }
}
