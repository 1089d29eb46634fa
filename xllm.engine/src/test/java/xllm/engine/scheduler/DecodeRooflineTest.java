package xllm.engine.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.IntToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * The offline batch limit read from synthetic decode step times: the largest batch whose step costs at most
 * 1.5 times a batch of one, a conservative limit until something is measured, and a search past what was measured
 * while every measured batch is still cheap.
 */
class DecodeRooflineTest {
    private static final long MS = 1_000_000L;

    /** Feeds {@code rounds} steps of every batch size in {@code [from, to]}, timed by {@code stepNanos}. */
    private static void feed(DecodeRoofline roofline, int from, int to, int rounds, IntToLongFunction stepNanos) {
        for (int r = 0; r < rounds; r++) {
            for (int b = from; b <= to; b++) {
                roofline.decodeStepTook(b, stepNanos.applyAsLong(b));
            }
        }
    }

    /** Reading the weights costs 10 ms a step; the arithmetic 0.4 ms a sequence, hidden under the reading up to 25. */
    private static long roofline(int batch) {
        return Math.max(10 * MS, 4 * MS * batch / 10);
    }

    @Test
    void unmeasuredEngineUsesTheConservativeDefault() {
        assertEquals(DecodeRoofline.UNMEASURED_LIMIT, new DecodeRoofline(64).limit());
        assertEquals(4, new DecodeRoofline(4).limit(), "never more than the engine runs");
    }

    @Test
    void limitIsTheLargestBatchCostingAtMostOneAndAHalfOfOne() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 1, 64, 3, DecodeRooflineTest::roofline);
        assertEquals(37, roofline.limit(), "0.4 ms x 37 = 14.8 ms, within 1.5 times the 10 ms of one sequence");
    }

    @Test
    void computeBoundEngineGetsASmallLimit() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 1, 16, 3, b -> MS * b);
        assertEquals(1, roofline.limit(), "each sequence costs a full step: two cost twice one, past the knee");
    }

    @Test
    void whileEveryMeasuredBatchIsCheapTheLimitReachesPastThem() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 1, 8, 3, DecodeRooflineTest::roofline);
        assertEquals(16, roofline.limit(), "batches up to 8 cost the same: try up to 16");
        feed(roofline, 9, 16, 3, DecodeRooflineTest::roofline);
        assertEquals(32, roofline.limit());
        feed(roofline, 17, 32, 3, DecodeRooflineTest::roofline);
        assertEquals(64, roofline.limit());
        feed(roofline, 33, 64, 3, DecodeRooflineTest::roofline);
        assertEquals(37, roofline.limit(), "the knee, once a batch past it was measured");
    }

    @Test
    void smallestMeasuredBatchStandsInForOne() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 4, 64, 3, DecodeRooflineTest::roofline);
        assertEquals(37, roofline.limit(), "batch 4 costs what batch 1 would");
    }

    @Test
    void oneStalledStepBarelyMovesTheLimit() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 1, 64, 10, DecodeRooflineTest::roofline);
        roofline.decodeStepTook(20, 500 * MS); // a pause of the whole process during one step
        assertEquals(37, roofline.limit());
        roofline.decodeStepTook(1, 500 * MS);
        assertTrue(roofline.limit() >= 37 && roofline.limit() <= 39, "limit " + roofline.limit());
    }

    @Test
    void stepTimesThatChangeMoveTheLimit() {
        DecodeRoofline roofline = new DecodeRoofline(64);
        feed(roofline, 1, 64, 3, DecodeRooflineTest::roofline);
        // longer contexts: attention now costs 0.8 ms a sequence, so the knee halves
        feed(roofline, 1, 64, 40, b -> Math.max(10 * MS, 8 * MS * b / 10));
        assertEquals(18, roofline.limit(), "0.8 ms x 18 = 14.4 ms, within 1.5 times 10 ms");
    }
}
