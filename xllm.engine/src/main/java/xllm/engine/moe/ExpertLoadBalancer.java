package xllm.engine.moe;

import java.util.Arrays;

/**
 * DeepSeek's expert-parallel load balancer (EPLB) for one layer: from the tokens each expert received,
 * which experts get extra copies and which group (compute thread, device) each copy runs on, so that
 * the busiest copy and the busiest group carry as little as possible. Stateless; any thread.
 */
public final class ExpertLoadBalancer {
    private ExpertLoadBalancer() {
    }

    /**
     * EPLB from measured per-expert loads: the spare slots go one by one to the expert whose copies carry
     * the most load each (every copy then takes load/replicas), then the copies, heaviest first, each go
     * to the least-loaded group that still has room ({@code ceil(slots/groups)} slots per group).
     */
    public static ExpertPlacement place(long[] load, int slots, int groups) {
        int numExperts = load.length;
        ExpertPlacement.requireSlots(numExperts, slots, groups);
        int[] replicas = new int[numExperts];
        Arrays.fill(replicas, 1);
        for (int s = numExperts; s < slots; s++) {
            int hottest = 0;
            for (int e = 1; e < numExperts; e++) {
                if ((double) load[e] / replicas[e] > (double) load[hottest] / replicas[hottest]) {
                    hottest = e;
                }
            }
            replicas[hottest]++;
        }
        Integer[] order = new Integer[numExperts];
        for (int e = 0; e < numExperts; e++) {
            order[e] = e;
        }
        Arrays.sort(order, (a, b) -> Double.compare((double) load[b] / replicas[b], (double) load[a] / replicas[a]));
        int capacity = (slots + groups - 1) / groups;
        double[] groupLoad = new double[groups];
        int[][] members = new int[groups][capacity];
        int[] count = new int[groups];
        for (int e : order) {
            double share = (double) load[e] / replicas[e];
            for (int r = 0; r < replicas[e]; r++) {
                int best = -1;
                for (int g = 0; g < groups; g++) {
                    if (count[g] < capacity && (best < 0 || groupLoad[g] < groupLoad[best])) {
                        best = g;
                    }
                }
                members[best][count[best]++] = e;
                groupLoad[best] += share;
            }
        }
        int[] expert = new int[slots];
        int[] group = new int[slots];
        int s = 0;
        for (int g = 0; g < groups; g++) {
            for (int i = 0; i < count[g]; i++, s++) {
                expert[s] = members[g][i];
                group[s] = g;
            }
        }
        return new ExpertPlacement(numExperts, groups, expert, group);
    }

}
