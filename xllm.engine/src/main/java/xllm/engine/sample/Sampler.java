package xllm.engine.sample;

import java.util.Arrays;
import org.agrona.collections.IntHashSet;
import xllm.api.SamplingParams;

/**
 * Picks the next token from a row of logits: penalties, then greedy or temperature sampling with
 * top-k, top-p and min-p truncation. Reuses its scratch arrays, so sampling allocates nothing.
 * Owned by the engine loop thread.
 */
public final class Sampler {
    private final int vocabSize;
    private final float[] work;
    private final long[] order;
    private final float[] probabilities;
    /** Sum of the unnormalized probabilities the last {@link #truncate} kept. */
    private double truncatedTotal;

    public Sampler(int vocabSize) {
        this.vocabSize = vocabSize;
        this.work = new float[vocabSize];
        this.order = new long[vocabSize];
        this.probabilities = new float[vocabSize];
    }

    /** The next token for {@code state}, from {@code logits[offset .. offset + vocab)} (left unchanged). */
    public int sample(float[] logits, int offset, SequenceSampling state) {
        SamplingParams p = state.params();
        float[] x = work;
        System.arraycopy(logits, offset, x, 0, vocabSize);
        if (p.hasPenalties()) {
            applyPenalties(x, state, p);
        }
        if (p.isGreedy()) {
            return argmax(x);
        }
        if (!truncates(p)) {
            double total = exponentiate(x, 1f / p.temperature());
            double u = state.nextDouble() * total;
            double acc = 0;
            for (int i = 0; i < vocabSize; i++) {
                acc += x[i];
                if (u < acc) {
                    return i;
                }
            }
            return argmax(x);
        }
        int candidates = truncate(x, p);
        double u = state.nextDouble() * truncatedTotal;
        double acc = 0;
        for (int i = 0; i < candidates; i++) {
            int id = index(order[i]);
            acc += x[id];
            if (u < acc) {
                return id;
            }
        }
        return index(order[candidates - 1]);
    }

    /**
     * Verifies a draft token that a draft model sampled from {@code q[qOffset .. qOffset + vocab)} by rejection
     * sampling (Leviathan et al., arXiv 2211.17192): with p the distribution {@link #sample} draws from here,
     * the draft is taken with probability min(1, p/q), else a token is drawn from the residual max(0, p - q),
     * normalized; either way the token returned is distributed as p. Returns the draft when it is taken.
     */
    public int verifySampledDraft(float[] logits, int offset, SequenceSampling state, int draft, float[] q, int qOffset) {
        float[] p = probabilities;
        distribution(logits, offset, state, p);
        if (state.nextAcceptanceDouble() * q[qOffset + draft] < p[draft]) {
            return draft;
        }
        double total = 0;
        for (int i = 0; i < vocabSize; i++) {
            float r = Math.max(0f, p[i] - q[qOffset + i]);
            p[i] = r;
            total += r;
        }
        if (total <= 0) {
            return draft; // p equals q up to rounding: the draft is always taken
        }
        double u = state.nextDouble() * total;
        double acc = 0;
        int last = draft;
        for (int i = 0; i < vocabSize; i++) {
            if (p[i] > 0) {
                acc += p[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last;
    }

    /**
     * The distribution {@link #sample} draws the next token of {@code state} from, normalized, into
     * {@code out[0 .. vocab)}: penalties, temperature and truncation applied; one-hot at the argmax when greedy.
     */
    public void distribution(float[] logits, int offset, SequenceSampling state, float[] out) {
        SamplingParams p = state.params();
        float[] x = work;
        System.arraycopy(logits, offset, x, 0, vocabSize);
        if (p.hasPenalties()) {
            applyPenalties(x, state, p);
        }
        if (p.isGreedy()) {
            Arrays.fill(out, 0, vocabSize, 0f);
            out[argmax(x)] = 1f;
            return;
        }
        if (!truncates(p)) {
            double total = exponentiate(x, 1f / p.temperature());
            for (int i = 0; i < vocabSize; i++) {
                out[i] = (float) (x[i] / total);
            }
            return;
        }
        int candidates = truncate(x, p);
        Arrays.fill(out, 0, vocabSize, 0f);
        for (int i = 0; i < candidates; i++) {
            int id = index(order[i]);
            out[id] = (float) (x[id] / truncatedTotal);
        }
    }

    private boolean truncates(SamplingParams p) {
        return (p.topK() > 0 && p.topK() < vocabSize) || p.topP() < 1f || p.minP() > 0f;
    }

    /** Replaces {@code x} by unnormalized probabilities at {@code 1/invTemperature}; returns their sum. */
    private double exponentiate(float[] x, float invTemperature) {
        float max = x[argmax(x)];
        double total = 0;
        for (int i = 0; i < vocabSize; i++) {
            float prob = (float) Math.exp((x[i] - max) * invTemperature);
            x[i] = prob;
            total += prob;
        }
        return total;
    }

    /**
     * Top-k, min-p and top-p: sorts the tokens into {@link #order} by descending logit, writes the unnormalized
     * probabilities of the kept ones into {@code x}, their sum into {@link #truncatedTotal}, and returns how many
     * (the first of {@code order}) are kept.
     */
    private int truncate(float[] x, SamplingParams p) {
        float invTemperature = 1f / p.temperature();
        for (int i = 0; i < vocabSize; i++) {
            order[i] = descendingKey(x[i], i);
        }
        Arrays.sort(order);
        int candidates = p.topK() > 0 ? Math.min(p.topK(), vocabSize) : vocabSize;
        float max = x[index(order[0])];
        double total = 0;
        for (int i = 0; i < candidates; i++) {
            int id = index(order[i]);
            float prob = (float) Math.exp((x[id] - max) * invTemperature);
            x[id] = prob;
            total += prob;
        }
        // min-p: relative to the most likely token, whose unnormalized probability is 1
        if (p.minP() > 0f) {
            int kept = 1;
            while (kept < candidates && x[index(order[kept])] >= p.minP()) {
                kept++;
            }
            total = 0;
            for (int i = 0; i < kept; i++) {
                total += x[index(order[i])];
            }
            candidates = kept;
        }
        if (p.topP() < 1f) {
            double cumulative = 0;
            int kept = 0;
            while (kept < candidates) {
                cumulative += x[index(order[kept])];
                kept++;
                if (cumulative >= p.topP() * total) {
                    break;
                }
            }
            candidates = kept;
            total = cumulative;
        }
        truncatedTotal = total;
        return candidates;
    }

    private static void applyPenalties(float[] x, SequenceSampling state, SamplingParams p) {
        float rep = p.repetitionPenalty();
        if (rep != 1f) {
            IntHashSet.IntIterator prompt = state.promptTokens().iterator();
            while (prompt.hasNext()) {
                int id = prompt.nextValue();
                penalizeRepeat(x, id, rep);
            }
            state.generatedCounts().forEach((id, count) -> {
                if (!state.seenInPrompt(id)) {
                    penalizeRepeat(x, id, rep);
                }
            });
        }
        if (p.presencePenalty() != 0f || p.frequencyPenalty() != 0f) {
            state.generatedCounts().forEach((id, count) ->
                    x[id] -= p.presencePenalty() + p.frequencyPenalty() * count);
        }
    }

    private static void penalizeRepeat(float[] x, int id, float penalty) {
        if (id >= 0 && id < x.length) {
            x[id] = x[id] > 0 ? x[id] / penalty : x[id] * penalty;
        }
    }

    /** Index of the largest logit; the lowest index wins a tie, as torch.argmax does. */
    public static int argmax(float[] x) {
        return argmax(x, 0, x.length);
    }

    /** {@link #argmax(float[])} of the row {@code x[offset .. offset+n)}, relative to {@code offset}. */
    public static int argmax(float[] x, int offset, int n) {
        int best = offset;
        float bestValue = x[offset];
        for (int i = offset + 1; i < offset + n; i++) {
            if (x[i] > bestValue) {
                bestValue = x[i];
                best = i;
            }
        }
        return best - offset;
    }


    /** Sort key: ascending keys give descending values, ties by ascending index. */
    private static long descendingKey(float value, int index) {
        int bits = Float.floatToIntBits(value);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~ordered << 32) | index;
    }

    private static int index(long key) {
        return (int) key;
    }
}
