package xllm.sched.cluster;

import java.util.List;

/**
 * The router's choice of workers when roles follow SLOs: {@link RolePolicy}'s prefill and decode choices
 * over a fresh {@link WorkerLoads} snapshot of the candidates. Thread-safe.
 */
final class SloPlacement implements FlightRouter.PlacementPolicy {
    private final RolePolicy policy;
    private final WorkerLoads loads;

    SloPlacement(RolePolicy policy, WorkerLoads loads) {
        this.policy = policy;
        this.loads = loads;
    }

    @Override
    public int choosePrefill(List<WorkerLink> live, int promptTokens) {
        return policy.choosePrefill(loads.snapshot(live), promptTokens);
    }

    @Override
    public int chooseDecode(List<WorkerLink> live, int contextTokens) {
        return policy.chooseDecode(loads.snapshot(live), contextTokens);
    }
}
