package xllm.engine.sample;

import java.util.Arrays;
import org.agrona.collections.IntHashSet;
import xllm.api.SamplingParams;

/**
 * Picks the next token from a row of logits: penalties, then greedy or temperature sampling with
 * top-k, top-p and min-p truncation; also writes out the distribution it samples from. Reuses its scratch
 * arrays, so sampling allocates nothing. Owned by the engine loop thread.
 */
public final class Sampler {
    private final int vocabSize;
    private final float[] work;
    private final long[] order;
    private final float[] probabilities;
    /** Sum of the candidates' unnormalized probabilities after the last {@link #truncate}. */
    private double keptMass;

    public Sampler(int vocabSize) {
        this.vocabSize = vocabSize;
        this.work = new float[vocabSize];
        this.order = new long[vocabSize];
        this.probabilities = new float[vocabSize];
    }

    /** The next token for {@code state}, from {@code logits[offset .. offset + vocab)} (left unchanged). */
    public int sample(float[] logits, int offset, SequenceSampling state) {
        return sample(logits, offset, state, null);
    }

    /**
     * {@link #sample(float[], int, SequenceSampling)} among the tokens of {@code allowed} only (bit t of word
     * t/64; null allows all): the others are masked out before penalties, truncation and the draw.
     */
    public int sample(float[] logits, int offset, SequenceSampling state, long[] allowed) {
        SamplingParams p = state.params();
        float[] x = work;
        System.arraycopy(logits, offset, x, 0, vocabSize);
        if (allowed != null) {
            maskOut(x, allowed);
        }
        if (p.hasPenalties()) {
            applyPenalties(x, state, p);
        }
        if (p.isGreedy()) {
            return argmax(x);
        }
        float invTemperature = 1f / p.temperature();
        if (!truncates(p)) {
            double total = exponentiateAll(x, invTemperature);
            return pick(x, 0, state.nextDouble() * total);
        }
        int candidates = truncate(x, p, invTemperature);
        double u = state.nextDouble() * keptMass;
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
     * The distribution {@link #sample} draws from under {@code p}, penalties aside (they depend on a sequence's
     * history): temperature, then top-k, min-p and top-p truncation, normalized to sum to 1 and written to
     * {@code out[0 .. vocab)}; a one-hot row at the argmax when {@code p} is greedy. Speculative decoding's
     * rejection sampling compares such rows of the draft and the target.
     */
    public void distribution(float[] logits, int offset, SamplingParams p, float[] out) {
        System.arraycopy(logits, offset, work, 0, vocabSize);
        normalize(work, p, out);
    }

    /** {@link #distribution(float[], int, SamplingParams, float[])} with {@code state}'s penalties applied first. */
    public void distribution(float[] logits, int offset, SequenceSampling state, float[] out) {
        SamplingParams p = state.params();
        System.arraycopy(logits, offset, work, 0, vocabSize);
        if (p.hasPenalties()) {
            applyPenalties(work, state, p);
        }
        normalize(work, p, out);
    }

    /**
     * Verifies a draft token that a draft model sampled from {@code q[qOffset .. qOffset + vocab)} by rejection
     * sampling (Leviathan et al., arXiv 2211.17192): with p the distribution {@link #sample} draws from here, the
     * draft is taken with probability min(1, p/q), else a token is drawn from the residual max(0, p - q); either
     * way the token returned is distributed as p. Returns the draft when it is taken.
     */
    public int verifySampledDraft(float[] logits, int offset, SequenceSampling state, int draft, float[] q, int qOffset) {
        float[] p = probabilities;
        distribution(logits, offset, state, p);
        if (state.nextAcceptanceDouble() * q[qOffset + draft] < p[draft]) {
            return draft;
        }
        boolean any = false;
        for (int i = 0; i < vocabSize; i++) {
            p[i] = Math.max(0f, p[i] - q[qOffset + i]);
            any |= p[i] > 0;
        }
        return any ? draw(p, 0, state) : draft; // no residual: p equals q up to rounding, so the draft stands
    }

    /** Writes the normalized distribution of the logits {@code x} (overwritten) under {@code p} into {@code out}. */
    private void normalize(float[] x, SamplingParams p, float[] out) {
        Arrays.fill(out, 0, vocabSize, 0f);
        if (p.isGreedy()) {
            out[argmax(x)] = 1f;
            return;
        }
        float invTemperature = 1f / p.temperature();
        if (!truncates(p)) {
            double total = exponentiateAll(x, invTemperature);
            for (int i = 0; i < vocabSize; i++) {
                out[i] = (float) (x[i] / total);
            }
            return;
        }
        int candidates = truncate(x, p, invTemperature);
        for (int i = 0; i < candidates; i++) {
            int id = index(order[i]);
            out[id] = (float) (x[id] / keptMass);
        }
    }

    /**
     * A token drawn with {@code state}'s random stream from the non-negative weights
     * {@code weights[offset .. offset + vocab)}, which need not sum to 1 (a residual distribution, say); only a
     * token of positive weight is drawn.
     */
    public int draw(float[] weights, int offset, SequenceSampling state) {
        double total = 0;
        for (int i = 0; i < vocabSize; i++) {
            total += weights[offset + i];
        }
        if (!(total > 0)) {
            throw new IllegalArgumentException("cannot draw from a row without positive weight (sum " + total + ")");
        }
        return pick(weights, offset, state.nextDouble() * total);
    }

    /**
     * The token whose share of the non-negative weights {@code w[offset .. offset + vocab)} holds {@code u}, a
     * point in {@code [0, their sum)}, walking in token order; only a token of positive weight.
     */
    private int pick(float[] w, int offset, double u) {
        double acc = 0;
        int last = 0;
        for (int i = 0; i < vocabSize; i++) {
            float weight = w[offset + i];
            if (weight > 0) {
                acc += weight;
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last; // rounding left u at the very end of the row
    }

    /** Sets the logit of every token not in {@code allowed} to minus infinity: it can no longer be drawn. */
    private void maskOut(float[] x, long[] allowed) {
        for (int w = 0; w < allowed.length; w++) {
            long refused = ~allowed[w];
            while (refused != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(refused);
                if (id >= vocabSize) {
                    break;
                }
                x[id] = Float.NEGATIVE_INFINITY;
                refused &= refused - 1;
            }
        }
        Arrays.fill(x, Math.min(vocabSize, allowed.length << 6), vocabSize, Float.NEGATIVE_INFINITY);
    }

    private boolean truncates(SamplingParams p) {
        return (p.topK() > 0 && p.topK() < vocabSize) || p.topP() < 1f || p.minP() > 0f;
    }

    /** Replaces {@code x} by its unnormalized probabilities at 1/{@code invTemperature}; returns their sum. */
    private double exponentiateAll(float[] x, float invTemperature) {
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
     * Sorts the tokens by logit into {@code order} and keeps the top-k, min-p and top-p candidates: returns how
     * many, their unnormalized probabilities in {@code x} at their ids, and their sum in {@link #keptMass}.
     */
    private int truncate(float[] x, SamplingParams p, float invTemperature) {
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
        keptMass = total;
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
