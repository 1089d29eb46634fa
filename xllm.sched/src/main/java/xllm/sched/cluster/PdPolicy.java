package xllm.sched.cluster;

/**
 * How the router places prefill and decode work: {@code static} keeps the roles given at start and places by
 * cached prefix and load; {@code slo} places by predicted latency against the targets and switches roles as
 * the load moves ({@code --pd-policy}, {@code --target-ttft-ms}, {@code --target-tpot-ms}).
 */
public record PdPolicy(boolean slo, double targetTtftMillis, double targetTpotMillis) {
    public static final PdPolicy STATIC = new PdPolicy(false, 1000, 50);

    public PdPolicy {
        if (!(targetTtftMillis > 0) || !(targetTpotMillis > 0)) {
            throw new IllegalArgumentException("--target-ttft-ms and --target-tpot-ms must be positive, got "
                    + targetTtftMillis + " and " + targetTpotMillis);
        }
    }

    RolePolicy.Config config() {
        return new RolePolicy.Config(targetTtftMillis / 1000, targetTpotMillis / 1000, RolePolicy.Config.DEFAULT.holdMillis());
    }
}
