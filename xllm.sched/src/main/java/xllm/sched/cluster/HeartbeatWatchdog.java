package xllm.sched.cluster;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import xllm.sched.StepTimes;

/**
 * Worker liveness by heartbeat. {@link #received} runs on the worker's event thread: it keeps what the
 * heartbeat says and brings a worker that answers for the first time into routing. {@link #run} is the
 * watchdog thread: it kills a worker whose heartbeats stopped, and the supervisor then reports that death
 * as any other.
 */
final class HeartbeatWatchdog implements Runnable {
    private static final long TIMEOUT_NANOS = 2_000_000_000L;
    private static final long CHECK_EVERY_NANOS = 200_000_000L;

    private final WorkerLink[] links;
    private final WorkerSupervisor supervisor;
    private final FlightRouter router;
    private final BooleanSupplier closing;
    private volatile boolean allAnswered;

    HeartbeatWatchdog(WorkerLink[] links, WorkerSupervisor supervisor, FlightRouter router, BooleanSupplier closing) {
        this.links = links;
        this.supervisor = supervisor;
        this.router = router;
        this.closing = closing;
    }

    /** @return false for a beat of a process that has since ended or been replaced, which is ignored */
    boolean received(WorkerLink link, Heartbeat beat) {
        if (!supervisor.runs(link.id, beat.pid())) {
            return false;
        }
        if (beat.pid() != link.lastBeat.pid()) {
            // a new process counts from zero; its predecessor's counts stop at its last heartbeat
            link.specOfEarlier = link.specOfEarlier.plus(link.lastBeat.spec());
        }
        link.spec = link.specOfEarlier.plus(beat.spec());
        learn(link.predictor, beat.steps());
        link.lastBeat = beat;
        link.lastBeatNanos = System.nanoTime();
        if (!link.alive) {
            router.workerAnswered(link, beat.pid());
            boolean all = true;
            for (WorkerLink l : links) {
                all &= l.alive;
            }
            allAnswered |= all;
        }
        return true;
    }

    private static void learn(TimePredictor predictor, StepTimes.Taken steps) {
        for (int i = 0; i < steps.prefillTokens().length; i++) {
            predictor.observePrefill(steps.prefillTokens()[i], steps.prefillNanos()[i] / 1e9);
        }
        for (int i = 0; i < steps.decodeBatch().length; i++) {
            predictor.observeDecode(steps.decodeBatch()[i], steps.decodeContext()[i], steps.decodeNanos()[i] / 1e9);
        }
    }

    /** True once every worker has answered once; a later death does not undo it. */
    boolean allAnswered() {
        return allAnswered;
    }

    @Override
    public void run() {
        while (!closing.getAsBoolean()) {
            long now = System.nanoTime();
            for (WorkerLink l : links) {
                if (l.alive && now - l.lastBeatNanos > TIMEOUT_NANOS) {
                    System.err.println("xllm: worker " + l.id + " missed its heartbeats for 2 s; killing it");
                    l.alive = false;
                    supervisor.kill(l.id);
                }
            }
            LockSupport.parkNanos(CHECK_EVERY_NANOS);
        }
    }
}
