package xllm.engine.moe;

/** Selection of the k largest scores, as routers need it for a few dozen to a few hundred experts. Any thread. */
final class TopK {
    private TopK() {
    }

    /**
     * Writes the indices of the {@code k} largest of {@code scores[offset .. offset+n)} to
     * {@code out[outOffset ..]}, largest first; equal scores go to the lower index, NaN loses to any number.
     */
    static void largest(float[] scores, int offset, int n, int k, int[] out, int outOffset) {
        for (int i = 0; i < k; i++) {
            int best = -1;
            for (int j = 0; j < n; j++) {
                if (taken(out, outOffset, i, j)) {
                    continue;
                }
                if (best < 0 || scores[offset + j] > scores[offset + best] || Float.isNaN(scores[offset + best])) {
                    best = j;
                }
            }
            out[outOffset + i] = best;
        }
    }

    /**
     * Copies the scores of the {@code k} experts in {@code ids[outOffset ..]} to {@code weights[outOffset ..]}
     * and returns their sum, added in that order.
     */
    static float gatherScores(float[] scores, int offset, int[] ids, float[] weights, int outOffset, int k) {
        float sum = 0;
        for (int i = 0; i < k; i++) {
            float w = scores[offset + ids[outOffset + i]];
            weights[outOffset + i] = w;
            sum += w;
        }
        return sum;
    }

    private static boolean taken(int[] chosen, int offset, int count, int index) {
        for (int i = 0; i < count; i++) {
            if (chosen[offset + i] == index) {
                return true;
            }
        }
        return false;
    }

    /** Sorts {@code ids[offset .. offset+k)} ascending, carrying {@code weights} along (insertion sort: k is small). */
    static void sortByIndex(int[] ids, float[] weights, int offset, int k) {
        for (int i = offset + 1; i < offset + k; i++) {
            int id = ids[i];
            float w = weights[i];
            int j = i - 1;
            while (j >= offset && ids[j] > id) {
                ids[j + 1] = ids[j];
                weights[j + 1] = weights[j];
                j--;
            }
            ids[j + 1] = id;
            weights[j + 1] = w;
        }
    }
}
