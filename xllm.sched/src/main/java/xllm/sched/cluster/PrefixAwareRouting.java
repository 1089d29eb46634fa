package xllm.sched.cluster;

import java.util.List;

/**
 * xLLM's cache-aware choice of a worker for a prompt: score = matched-block ratio - KV cache usage -
 * normalised queue length. The worker holding the longest cached prefix wins unless its memory or queue
 * outweighs the hit; with no prefix anywhere this is the least loaded worker. Stateless.
 */
public final class PrefixAwareRouting {
    /** What the router knows of one live worker for this prompt. */
    public record Candidate(int worker, int matchedBlocks, double kvUsage, int load) {
    }

    /** The choice, and whether a cached prefix decided it. */
    public record Route(int worker, boolean prefix) {
    }

    private PrefixAwareRouting() {
    }

    /**
     * @param promptBlocks full blocks of the prompt that a cache could hold
     * @param capacity requests a worker runs at once, to normalise queue lengths
     */
    public static Route choose(List<Candidate> candidates, int promptBlocks, int capacity) {
        Candidate best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (Candidate c : candidates) {
            double score = score(c, promptBlocks, capacity);
            if (best == null || score > bestScore || (score == bestScore && c.load() < best.load())) {
                best = c;
                bestScore = score;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("no live worker to choose from");
        }
        return new Route(best.worker(), best.matchedBlocks() > 0);
    }

    static double score(Candidate c, int promptBlocks, int capacity) {
        double matched = promptBlocks == 0 ? 0 : (double) c.matchedBlocks() / promptBlocks;
        return matched - c.kvUsage() - (double) c.load() / capacity;
    }
}
