package xllm.api;

/**
 * Log-probabilities at one generated position: the sampled token's, and the most likely alternatives.
 * A mutable holder the engine fills and reuses; consumers copy what they keep.
 */
public final class Logprobs {
    private final int[] topIds = new int[20];
    private final float[] topLogprobs = new float[20];
    private int topCount;
    private int sampledId;
    private float sampledLogprob;

    public void set(int sampledId, float sampledLogprob) {
        this.sampledId = sampledId;
        this.sampledLogprob = sampledLogprob;
        this.topCount = 0;
    }

    public void addTop(int id, float logprob) {
        topIds[topCount] = id;
        topLogprobs[topCount] = logprob;
        topCount++;
    }

    public int sampledId() { return sampledId; }
    public float sampledLogprob() { return sampledLogprob; }
    public int topCount() { return topCount; }
    public int topId(int i) { return topIds[i]; }
    public float topLogprob(int i) { return topLogprobs[i]; }
}
