package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static xllm.sched.cluster.WorkerRole.DECODE;
import static xllm.sched.cluster.WorkerRole.MIXED;
import static xllm.sched.cluster.WorkerRole.PREFILL;

import java.util.List;
import org.junit.jupiter.api.Test;
import xllm.sched.cluster.RolePolicy.Switch;
import xllm.sched.cluster.RolePolicy.Worker;

/** Targets are the defaults: TTFT 1 s, TPOT 50 ms, hold 2 s; measured workers take 1 ms per prompt token and 10 + 4*batch ms per step. */
class RolePolicyTest {
    private static final TimePredictor MEASURED = measured();
    private static final TimePredictor NEW = new TimePredictor();

    private static TimePredictor measured() {
        TimePredictor p = new TimePredictor();
        for (int i = 1; i <= 8; i++) {
            p.observePrefill(100 * i, 0.1 * i);
            p.observeDecode(i, 700L * (i % 3 + 1), 0.010 + 0.004 * i);
        }
        return p;
    }

    private static Worker worker(int id, WorkerRole role, int decoding, int waiting) {
        return new Worker(id, role, true, decoding, 100L * decoding, waiting, 0, MEASURED);
    }

    private static Worker idle(int id, WorkerRole role, long idleMillis) {
        return new Worker(id, role, true, 0, 0, 0, idleMillis, MEASURED);
    }

    private static Worker dead(int id, WorkerRole role) {
        return new Worker(id, role, false, 0, 0, 0, 0, MEASURED);
    }

    private static RolePolicy policy(WorkerRole... startRoles) {
        return new RolePolicy(List.of(startRoles), RolePolicy.Config.DEFAULT);
    }

    @Test
    void prefillGoesWhereItFinishesFirst() {
        RolePolicy p = policy(PREFILL, PREFILL, DECODE, MIXED);
        List<Worker> ws = List.of(worker(0, PREFILL, 0, 500), worker(1, PREFILL, 0, 100), worker(2, DECODE, 0, 0),
                worker(3, MIXED, 4, 400));
        assertEquals(1, p.choosePrefill(ws, 200));
    }

    @Test
    void anOverloadedPrefillGoesToALightDecodeWorker() {
        RolePolicy p = policy(PREFILL, PREFILL, DECODE, DECODE);
        Worker heavy = worker(3, DECODE, 12, 0);
        List<Worker> ws = List.of(worker(0, PREFILL, 0, 2000), worker(1, PREFILL, 0, 1500), heavy, worker(2, DECODE, 2, 0));
        assertEquals(2, p.choosePrefill(ws, 200), "1.7 s on the best prefill worker, 0.2 s on a decode worker at batch 2");
        assertEquals(1, p.choosePrefill(List.of(ws.get(0), ws.get(1), heavy), 200), "a decode worker at batch 12 misses TPOT");
        assertEquals(0, p.choosePrefill(List.of(worker(0, PREFILL, 0, 300), worker(2, DECODE, 2, 0)), 200),
                "0.5 s meets the target; the decode worker is not needed");
    }

    @Test
    void unmeasuredPrefillWorkersAreRankedByQueueLength() {
        RolePolicy p = policy(PREFILL, PREFILL);
        List<Worker> ws = List.of(worker(0, PREFILL, 0, 10), new Worker(1, PREFILL, true, 0, 0, 0, 0, NEW));
        assertEquals(1, p.choosePrefill(ws, 200));
    }

    @Test
    void prefillWithoutALivePrefillWorkerGoesToADecodeWorkerOrNowhere() {
        RolePolicy p = policy(PREFILL, DECODE, DECODE);
        assertEquals(2, p.choosePrefill(List.of(dead(0, PREFILL), worker(1, DECODE, 3, 50), worker(2, DECODE, 5, 0)), 100));
        assertEquals(-1, p.choosePrefill(List.of(dead(0, PREFILL), dead(1, DECODE)), 100));
    }

    @Test
    void decodeGoesToTheFirstWorkerMeetingTpotElseTheFastest() {
        RolePolicy p = policy(PREFILL, DECODE, DECODE, DECODE);
        Worker prefill = worker(0, PREFILL, 0, 0);
        assertEquals(2, p.chooseDecode(List.of(prefill, worker(1, DECODE, 12, 0), worker(2, DECODE, 5, 0), worker(3, DECODE, 1, 0)), 300),
                "62 ms with one more at batch 12; 34 ms at batch 5 is the first to meet 50 ms");
        assertEquals(3, p.chooseDecode(List.of(prefill, worker(1, DECODE, 14, 0), worker(2, DECODE, 20, 0), worker(3, DECODE, 12, 0)), 300));
        assertEquals(-1, p.chooseDecode(List.of(prefill, dead(1, DECODE)), 300));
    }

    @Test
    void unmeasuredDecodeWorkersAreRankedBySequences() {
        RolePolicy p = policy(DECODE, DECODE);
        List<Worker> ws = List.of(worker(0, DECODE, 3, 0), new Worker(1, DECODE, true, 2, 500, 0, 0, NEW));
        assertEquals(1, p.chooseDecode(ws, 300));
    }

    @Test
    void slowDecodeTakesTheIdlestPrefillWorker() {
        RolePolicy p = policy(PREFILL, PREFILL, DECODE);
        Switch s = p.decide(List.of(worker(0, PREFILL, 0, 300), worker(1, PREFILL, 0, 0), worker(2, DECODE, 12, 0)), 0);
        assertEquals(new Switch(1, DECODE,
                "no decode worker meets TPOT 50 ms (best 58 ms at batch 12); prefill worker 1 has 0 waiting tokens"), s);
    }

    @Test
    void slowDecodeTakesNoPrefillWorkerThatPrefillCannotSpare() {
        RolePolicy p = policy(PREFILL, PREFILL, DECODE, DECODE);
        assertNull(p.decide(List.of(worker(0, PREFILL, 0, 0), worker(2, DECODE, 12, 0)), 0), "the only prefill worker");
        assertNull(p.decide(List.of(worker(0, PREFILL, 0, 0), dead(1, PREFILL), worker(2, DECODE, 12, 0)), 0),
                "the only live prefill worker");
        assertNull(p.decide(List.of(worker(0, PREFILL, 0, 900), worker(1, PREFILL, 0, 900), worker(2, DECODE, 12, 0),
                worker(3, DECODE, 14, 0)), 0), "one prefill worker could not carry 0.9 s of queue each");
    }

    @Test
    void overloadedPrefillTakesTheLightestDecodeWorker() {
        RolePolicy p = policy(PREFILL, DECODE, DECODE);
        Switch s = p.decide(List.of(worker(0, PREFILL, 0, 3000), worker(1, DECODE, 3, 0), worker(2, DECODE, 1, 0)), 0);
        assertEquals(new Switch(2, PREFILL, "prefill overloaded: best prefill worker 0 needs 3000 ms for 3000 waiting tokens "
                + "(TTFT target 1000 ms); decode worker 2 decodes 1 sequences"), s);
    }

    @Test
    void overloadedPrefillTakesNoDecodeWorkerThatDecodeCannotSpare() {
        RolePolicy p = policy(PREFILL, DECODE, DECODE);
        assertNull(p.decide(List.of(worker(0, PREFILL, 0, 3000), worker(1, DECODE, 1, 0)), 0), "the only decode worker");
        assertNull(p.decide(List.of(worker(0, PREFILL, 0, 3000), worker(1, DECODE, 5, 0), worker(2, DECODE, 5, 0)), 0),
                "30 ms each would be 60 ms on one");
    }

    @Test
    void anIdleSwitchedWorkerReturnsToItsStartingRole() {
        List<Worker> ws = List.of(worker(0, PREFILL, 0, 0), idle(1, DECODE, 2_500), worker(2, DECODE, 3, 0));
        assertEquals(new Switch(1, PREFILL, "worker 1 has been idle for 2500 ms as decode; back to its starting role prefill"),
                policy(PREFILL, PREFILL, DECODE).decide(ws, 10_000));
        assertNull(policy(PREFILL, PREFILL, DECODE).decide(List.of(worker(0, PREFILL, 0, 0), idle(1, DECODE, 1_000),
                worker(2, DECODE, 3, 0)), 10_000), "idle for less than the hold time");
        assertNull(policy(PREFILL, PREFILL, DECODE).decide(List.of(worker(0, PREFILL, 0, 0), idle(1, DECODE, 5_000),
                dead(2, DECODE)), 10_000), "the only live decode worker");
    }

    @Test
    void aWorkerIsNotSwitchedAgainWithinTheHoldTime() {
        RolePolicy p = policy(PREFILL, PREFILL, PREFILL, DECODE);
        List<Worker> slowDecode = List.of(worker(0, PREFILL, 0, 0), worker(1, PREFILL, 0, 100), worker(2, PREFILL, 0, 200),
                worker(3, DECODE, 12, 0));
        assertEquals(0, p.decide(slowDecode, 0).worker());
        List<Worker> after = List.of(idle(0, DECODE, 3_000), worker(1, PREFILL, 0, 100), worker(2, PREFILL, 0, 200),
                worker(3, DECODE, 12, 0));
        assertNull(p.decide(after, 1_000), "worker 0 was switched 1 s ago");
        assertEquals(new Switch(0, PREFILL, "worker 0 has been idle for 3000 ms as decode; back to its starting role prefill"),
                p.decide(after, 2_000));
    }

    @Test
    void theNextCandidateIsTakenWhileTheBestIsHeld() {
        RolePolicy p = policy(PREFILL, PREFILL, PREFILL, DECODE, DECODE);
        List<Worker> ws = List.of(worker(0, PREFILL, 0, 0), worker(1, PREFILL, 0, 100), worker(2, PREFILL, 0, 200),
                worker(3, DECODE, 12, 0), worker(4, DECODE, 13, 0));
        assertEquals(0, p.decide(ws, 0).worker());
        assertEquals(1, p.decide(ws, 500).worker(), "the snapshot still shows worker 0 as prefill, but it is held");
    }

    @Test
    void mixedWorkersAreNeverSwitched() {
        RolePolicy p = policy(MIXED, MIXED);
        assertNull(p.decide(List.of(worker(0, MIXED, 20, 3000), worker(1, MIXED, 20, 3000)), 0));
    }
}
