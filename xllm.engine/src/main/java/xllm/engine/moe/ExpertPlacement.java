package xllm.engine.moe;

import java.util.Arrays;

/**
 * Where one MoE layer's experts run, as DeepSeek's EPLB lays them out: {@code slots} expert copies
 * (at least one per expert); an expert held by r slots splits its tokens evenly among them; the slots
 * are packed onto {@code groups} (the compute threads here, devices in a cluster), each group's slots
 * consecutive. {@link ExpertLoadBalancer} computes one from measured loads. Immutable; any thread.
 */
public final class ExpertPlacement {
    private final int numExperts;
    private final int groups;
    private final int[] slotExpert;
    private final int[] slotGroup;
    private final int[] replicas;
    private final int[] replicaIndex;
    private final int[] groupStart;

    /**
     * @param slotExpert the expert each slot holds
     * @param slotGroup  the group each slot belongs to, non-decreasing
     */
    public ExpertPlacement(int numExperts, int groups, int[] slotExpert, int[] slotGroup) {
        if (slotExpert.length != slotGroup.length || groups < 1 || groups > slotExpert.length) {
            throw new IllegalArgumentException("a placement needs one group per slot and 1.." + slotExpert.length
                    + " groups, got " + slotGroup.length + " groups for " + slotExpert.length + " slots, " + groups + " groups");
        }
        this.numExperts = numExperts;
        this.groups = groups;
        this.slotExpert = slotExpert.clone();
        this.slotGroup = slotGroup.clone();
        this.replicas = new int[numExperts];
        this.replicaIndex = new int[slotExpert.length];
        this.groupStart = new int[groups + 1];
        for (int s = 0; s < slotExpert.length; s++) {
            int e = slotExpert[s];
            int g = slotGroup[s];
            if (e < 0 || e >= numExperts || g < 0 || g >= groups || (s > 0 && g < slotGroup[s - 1])) {
                throw new IllegalArgumentException("slot " + s + " holds expert " + e + " in group " + g
                        + ": experts are 0.." + (numExperts - 1) + ", groups 0.." + (groups - 1) + " in order");
            }
            replicaIndex[s] = replicas[e]++;
            groupStart[g + 1]++;
        }
        for (int e = 0; e < numExperts; e++) {
            if (replicas[e] == 0) {
                throw new IllegalArgumentException("expert " + e + " has no slot");
            }
        }
        for (int g = 0; g < groups; g++) {
            groupStart[g + 1] += groupStart[g];
        }
    }

    /** The placement before balancing: slot s holds expert {@code s % numExperts}, slots split evenly over groups in order. */
    public static ExpertPlacement roundRobin(int numExperts, int slots, int groups) {
        requireSlots(numExperts, slots, groups);
        int[] expert = new int[slots];
        int[] group = new int[slots];
        for (int s = 0; s < slots; s++) {
            expert[s] = s % numExperts;
            group[s] = (int) ((long) s * groups / slots);
        }
        return new ExpertPlacement(numExperts, groups, expert, group);
    }

    static void requireSlots(int numExperts, int slots, int groups) {
        if (numExperts < 1 || slots < numExperts || groups < 1 || groups > slots) {
            throw new IllegalArgumentException("expert placement needs at least one slot per expert and one per group: "
                    + numExperts + " experts, " + slots + " slots, " + groups + " groups");
        }
    }

    public int numExperts() {
        return numExperts;
    }

    public int slots() {
        return slotExpert.length;
    }

    public int groups() {
        return groups;
    }

    public int expertAt(int slot) {
        return slotExpert[slot];
    }

    public int groupOf(int slot) {
        return slotGroup[slot];
    }

    /** Slots that hold {@code expert}. */
    public int replicas(int expert) {
        return replicas[expert];
    }

    /** Which of its expert's copies {@code slot} is, 0-based: it takes that share of the expert's tokens. */
    public int replicaIndex(int slot) {
        return replicaIndex[slot];
    }

    /** The group's slots are {@code [groupStart(g), groupStart(g+1))}. */
    public int groupStart(int group) {
        return groupStart[group];
    }

    /** Load each slot carries: its expert's load over the expert's copies. */
    public double[] slotLoads(long[] load) {
        double[] out = new double[slots()];
        for (int s = 0; s < out.length; s++) {
            out[s] = (double) load[slotExpert[s]] / replicas[slotExpert[s]];
        }
        return out;
    }

    public double[] groupLoads(long[] load) {
        double[] out = new double[groups];
        double[] slotLoad = slotLoads(load);
        for (int s = 0; s < slotLoad.length; s++) {
            out[slotGroup[s]] += slotLoad[s];
        }
        return out;
    }

    /** Max slot load over mean slot load: 1 is perfect balance; 1 when nothing was routed. */
    public double imbalance(long[] load) {
        return maxOverMean(slotLoads(load));
    }

    /** The same over groups: how much longer the busiest compute thread works than the average one. */
    public double groupImbalance(long[] load) {
        return maxOverMean(groupLoads(load));
    }

    private static double maxOverMean(double[] x) {
        double max = 0;
        double sum = 0;
        for (double v : x) {
            max = Math.max(max, v);
            sum += v;
        }
        return sum == 0 ? 1.0 : max / (sum / x.length);
    }

    @Override
    public String toString() {
        return "ExpertPlacement" + Arrays.toString(slotExpert) + " groups " + Arrays.toString(slotGroup);
    }
}
