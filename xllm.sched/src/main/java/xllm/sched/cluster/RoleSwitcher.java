package xllm.sched.cluster;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The thread that moves worker roles with the load under {@code --pd-policy slo}: every
 * {@value #PERIOD_MILLIS} ms it asks {@link RolePolicy#decide} and applies a switch. A switch changes only
 * where the router sends new work; what a worker runs goes on to its end, so no sequence is dropped or
 * paused. Each decision and its reason go to the log.
 */
final class RoleSwitcher implements Runnable {
    static final long PERIOD_MILLIS = 200;

    private final WorkerLink[] links;
    private final RolePolicy policy;
    private final WorkerLoads loads;
    private final ClusterMetrics metrics;
    private final BooleanSupplier closing;
    private final BooleanSupplier ready;

    /** @param ready true once every worker has answered: before that, a missing role means a slow start */
    RoleSwitcher(WorkerLink[] links, RolePolicy policy, WorkerLoads loads, ClusterMetrics metrics, BooleanSupplier closing,
                 BooleanSupplier ready) {
        this.ready = ready;
        this.links = links;
        this.policy = policy;
        this.loads = loads;
        this.metrics = metrics;
        this.closing = closing;
    }

    @Override
    public void run() {
        while (!closing.getAsBoolean()) {
            LockSupport.parkNanos(PERIOD_MILLIS * 1_000_000);
            if (!ready.getAsBoolean()) {
                continue;
            }
            RolePolicy.Switch s = policy.decide(loads.snapshot(null), System.nanoTime() / 1_000_000);
            if (s != null) {
                WorkerLink link = links[s.worker()];
                WorkerRole from = link.role;
                link.role = s.to();
                metrics.roleSwitches.increment();
                System.err.println("xllm: worker " + s.worker() + " switched " + from.label() + " -> " + s.to().label() + ": " + s.reason());
            }
        }
    }
}
