package xllm.sched.cluster;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * xLLM's SLO-aware policy for disaggregated prefill and decode: which worker computes a prompt, which one
 * decodes it, and when a worker should change role, judged by each worker's {@link TimePredictor} against
 * targets for time to first token and time per output token. Decisions only; the router applies them.
 *
 * <p>Threads: {@link #choosePrefill} and {@link #chooseDecode} read only their arguments and may run on any
 * thread; {@link #decide} remembers when it last switched each worker and belongs to one thread.
 */
final class RolePolicy {
    /** The policy's targets, and how long a worker keeps a role (or stays idle) before it is switched again. */
    record Config(double targetTtftSeconds, double targetTpotSeconds, long holdMillis) {
        static final Config DEFAULT = new Config(1.0, 0.05, 2_000);

        Config {
            if (!(targetTtftSeconds > 0) || !(targetTpotSeconds > 0) || holdMillis < 0) {
                throw new IllegalArgumentException("TTFT and TPOT targets must be positive and the hold time >= 0, got "
                        + targetTtftSeconds + " s, " + targetTpotSeconds + " s, " + holdMillis + " ms");
            }
        }
    }

    /**
     * What the router knows of one worker now.
     *
     * @param decoding sequences it is decoding
     * @param decodeContextTokens their context tokens in all
     * @param waitingPrefillTokens prompt tokens routed to it and not yet through prefill
     * @param idleMillis how long it has had no work; 0 while busy
     */
    record Worker(int id, WorkerRole role, boolean alive, int decoding, long decodeContextTokens,
            int waitingPrefillTokens, long idleMillis, TimePredictor predictor) {
        Worker {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(predictor, "predictor");
        }
    }

    /** Move {@code worker} to role {@code to}; {@code reason} says why, with the numbers. */
    record Switch(int worker, WorkerRole to, String reason) {
    }

    private static final long NEVER = Long.MIN_VALUE;

    private final List<WorkerRole> startRoles;
    private final Config config;
    private final long[] switchedAt;

    /** @param startRoles each worker's role as configured at start, by worker id: where an idle worker returns */
    RolePolicy(List<WorkerRole> startRoles, Config config) {
        this.startRoles = List.copyOf(startRoles);
        this.config = Objects.requireNonNull(config, "config");
        this.switchedAt = new long[startRoles.size()];
        Arrays.fill(switchedAt, NEVER);
    }

    /**
     * The worker to compute a prompt of {@code promptTokens}: the prefilling one (prefill or mixed) expected
     * to finish it first, its queue included; if even that one misses the TTFT target, a decode worker light
     * enough to take one more sequence within the TPOT target that would finish it sooner. Until every
     * prefilling worker has been measured, the shortest queue (which measures the idle ones). With no
     * prefilling worker alive, the least queued decode worker. -1 when no worker is alive.
     */
    int choosePrefill(List<Worker> workers, int promptTokens) {
        List<Worker> prefilling = live(workers, WorkerRole::prefills);
        if (prefilling.isEmpty()) {
            return id(shortestQueue(live(workers, WorkerRole::decodes)));
        }
        for (Worker w : prefilling) {
            if (!w.predictor().knowsPrefill()) {
                return id(shortestQueue(prefilling));
            }
        }
        Worker best = null;
        double bestTtft = Double.POSITIVE_INFINITY;
        for (Worker w : prefilling) {
            double t = ttft(w, w.predictor(), promptTokens);
            if (t < bestTtft) {
                best = w;
                bestTtft = t;
            }
        }
        if (bestTtft <= config.targetTtftSeconds()) {
            return best.id();
        }
        Worker relief = best;
        for (Worker w : workers) {
            if (w.alive() && w.role() == WorkerRole.DECODE && tpotWithOneMore(w, promptTokens) <= config.targetTpotSeconds()) {
                // A decode worker that never prefilled is timed by the prefill worker's measurements: same model, same machine.
                TimePredictor p = w.predictor().knowsPrefill() ? w.predictor() : best.predictor();
                double t = ttft(w, p, promptTokens);
                if (t < bestTtft) {
                    relief = w;
                    bestTtft = t;
                }
            }
        }
        return relief.id();
    }

    /**
     * The worker to decode a sequence of {@code contextTokens}: the first decoding one (decode or mixed) whose
     * predicted TPOT with it added meets the target, else the one predicted fastest. Until every decoding
     * worker has been measured, the one decoding fewest sequences. -1 when none is alive.
     */
    int chooseDecode(List<Worker> workers, int contextTokens) {
        List<Worker> decoding = live(workers, WorkerRole::decodes);
        for (Worker w : decoding) {
            if (!w.predictor().knowsDecode()) {
                return id(fewestDecoding(decoding));
            }
        }
        Worker fastest = null;
        double fastestTpot = Double.POSITIVE_INFINITY;
        for (Worker w : decoding) {
            double t = tpotWithOneMore(w, contextTokens);
            if (t <= config.targetTpotSeconds()) {
                return w.id();
            }
            if (t < fastestTpot) {
                fastest = w;
                fastestTpot = t;
            }
        }
        return id(fastest);
    }

    /**
     * At most one role change, checked in this order: (a) no decode worker meets the TPOT target and the
     * prefill workers have room to spare one: the prefill worker with the least waiting work decodes; (b) the
     * best prefill worker misses the TTFT target for its queue and the decode workers have room to spare one:
     * the decode worker with the fewest sequences prefills; (c) a worker the policy moved has been idle for
     * the hold time: it returns to its starting role. Never leaves fewer than one live prefill and one live
     * decode worker (mixed ones count as neither), never switches a worker within the hold time of its last
     * switch, and never switches where all workers are mixed. Null when nothing should change.
     */
    Switch decide(List<Worker> workers, long nowMillis) {
        for (Worker w : workers) {
            startRole(w);
        }
        List<Worker> prefill = live(workers, r -> r == WorkerRole.PREFILL);
        List<Worker> decode = live(workers, r -> r == WorkerRole.DECODE);
        if (prefill.isEmpty() && decode.isEmpty()) {
            return null;
        }
        Switch s = relieveDecode(prefill, decode, nowMillis);
        if (s == null) {
            s = relievePrefill(prefill, decode, nowMillis);
        }
        if (s == null) {
            s = returnIdle(workers, prefill.size(), decode.size(), nowMillis);
        }
        if (s != null) {
            switchedAt[s.worker()] = nowMillis;
        }
        return s;
    }

    /** Rule (a). */
    private Switch relieveDecode(List<Worker> prefill, List<Worker> decode, long now) {
        Worker fastest = null;
        double fastestTpot = Double.POSITIVE_INFINITY;
        for (Worker w : decode) {
            double t = tpotNow(w);
            if (t <= config.targetTpotSeconds()) {
                return null;
            }
            if (t < fastestTpot) {
                fastest = w;
                fastestTpot = t;
            }
        }
        // As xLLM: n-1 prefill workers must still meet the target on average, unless decode workers are the fewer.
        int n = prefill.size();
        if (n < 2 || (mean(prefill, true) >= config.targetTtftSeconds() * (n - 1) / n && decode.size() >= n)) {
            return null;
        }
        Worker spare = shortestQueue(unheld(prefill, now));
        if (spare == null) {
            return null;
        }
        String why = fastest == null ? "no live decode worker"
                : String.format(Locale.ROOT, "no decode worker meets TPOT %.0f ms (best %.0f ms at batch %d)",
                        config.targetTpotSeconds() * 1e3, fastestTpot * 1e3, fastest.decoding());
        return new Switch(spare.id(), WorkerRole.DECODE, why + String.format(Locale.ROOT,
                "; prefill worker %d has %d waiting tokens", spare.id(), spare.waitingPrefillTokens()));
    }

    /** Rule (b). */
    private Switch relievePrefill(List<Worker> prefill, List<Worker> decode, long now) {
        Worker best = null;
        double bestTtft = Double.POSITIVE_INFINITY;
        for (Worker w : prefill) {
            double t = ttftNow(w);
            if (t < bestTtft) {
                best = w;
                bestTtft = t;
            }
        }
        int n = decode.size();
        if (bestTtft <= config.targetTtftSeconds() || n < 2
                || mean(decode, false) >= config.targetTpotSeconds() * (n - 1) / n) {
            return null;
        }
        Worker spare = fewestDecoding(unheld(decode, now));
        if (spare == null) {
            return null;
        }
        String why = best == null ? "no live prefill worker"
                : String.format(Locale.ROOT, "prefill overloaded: best prefill worker %d needs %.0f ms for %d waiting tokens (TTFT target %.0f ms)",
                        best.id(), bestTtft * 1e3, best.waitingPrefillTokens(), config.targetTtftSeconds() * 1e3);
        return new Switch(spare.id(), WorkerRole.PREFILL, why + String.format(Locale.ROOT,
                "; decode worker %d decodes %d sequences", spare.id(), spare.decoding()));
    }

    /** Rule (c). */
    private Switch returnIdle(List<Worker> workers, int prefillCount, int decodeCount, long now) {
        for (Worker w : workers) {
            WorkerRole start = startRole(w);
            boolean keepsOneOfEach = switch (w.role()) {
                case PREFILL -> prefillCount >= 2;
                case DECODE -> decodeCount >= 2;
                case MIXED -> true;
            };
            if (w.alive() && w.role() != start && w.idleMillis() >= config.holdMillis() && !held(w, now) && keepsOneOfEach) {
                return new Switch(w.id(), start, String.format(Locale.ROOT,
                        "worker %d has been idle for %d ms as %s; back to its starting role %s",
                        w.id(), w.idleMillis(), w.role().label(), start.label()));
            }
        }
        return null;
    }

    /** Predicted TTFT of the prompt behind {@code w}'s queue. */
    private static double ttft(Worker w, TimePredictor p, int promptTokens) {
        return p.predictTtft((int) Math.min(Integer.MAX_VALUE, (long) w.waitingPrefillTokens() + promptTokens));
    }

    /** Predicted TPOT of {@code w} with one more sequence; an unmeasured worker is light only while it decodes nothing. */
    private static double tpotWithOneMore(Worker w, int contextTokens) {
        if (!w.predictor().knowsDecode()) {
            return w.decoding() == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return w.predictor().predictTpot(w.decoding() + 1, w.decodeContextTokens() + contextTokens);
    }

    /** Predicted time to clear {@code w}'s queue; 0 without a queue or without measurements (no sign of overload). */
    private static double ttftNow(Worker w) {
        boolean known = w.waitingPrefillTokens() > 0 && w.predictor().knowsPrefill();
        return known ? w.predictor().predictTtft(w.waitingPrefillTokens()) : 0;
    }

    /** Predicted TPOT of {@code w}'s current batch; 0 when it decodes nothing or was never measured. */
    private static double tpotNow(Worker w) {
        boolean known = w.decoding() > 0 && w.predictor().knowsDecode();
        return known ? w.predictor().predictTpot(w.decoding(), w.decodeContextTokens()) : 0;
    }

    private static double mean(List<Worker> workers, boolean ttft) {
        double sum = 0;
        for (Worker w : workers) {
            sum += ttft ? ttftNow(w) : tpotNow(w);
        }
        return sum / workers.size();
    }

    private boolean held(Worker w, long now) {
        long at = switchedAt[w.id()];
        return at != NEVER && now - at < config.holdMillis();
    }

    private WorkerRole startRole(Worker w) {
        if (w.id() < 0 || w.id() >= startRoles.size()) {
            throw new IllegalArgumentException("worker " + w.id() + " is not one of the " + startRoles.size()
                    + " workers this policy was made for");
        }
        return startRoles.get(w.id());
    }

    private List<Worker> unheld(List<Worker> workers, long now) {
        List<Worker> out = new ArrayList<>();
        for (Worker w : workers) {
            if (!held(w, now)) {
                out.add(w);
            }
        }
        return out;
    }

    /** The worker with the fewest waiting prompt tokens, the first of equals; null for none. */
    private static Worker shortestQueue(List<Worker> workers) {
        Worker best = null;
        for (Worker w : workers) {
            if (best == null || w.waitingPrefillTokens() < best.waitingPrefillTokens()) {
                best = w;
            }
        }
        return best;
    }

    /** The worker decoding the fewest sequences, then the fewest tokens; null for none. */
    private static Worker fewestDecoding(List<Worker> workers) {
        Worker best = null;
        for (Worker w : workers) {
            if (best == null || w.decoding() < best.decoding()
                    || (w.decoding() == best.decoding() && w.decodeContextTokens() < best.decodeContextTokens())) {
                best = w;
            }
        }
        return best;
    }

    private static int id(Worker w) {
        return w == null ? -1 : w.id();
    }

    private static List<Worker> live(List<Worker> workers, Predicate<WorkerRole> role) {
        List<Worker> out = new ArrayList<>();
        for (Worker w : workers) {
            if (w.alive() && role.test(w.role())) {
                out.add(w);
            }
        }
        return out;
    }
}
