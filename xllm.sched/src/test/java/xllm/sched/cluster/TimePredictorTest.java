package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TimePredictorTest {
    private static double ttft(int l) {
        return 0.02 + 5e-5 * l + 2e-9 * (double) l * l;
    }

    private static double tpot(int batch, long tokens) {
        return 0.008 + 4e-4 * batch + 2e-6 * tokens;
    }

    @Test
    void recoversAQuadraticTtftFromExactSamples() {
        TimePredictor p = new TimePredictor();
        for (int l = 16; l <= 4096; l += 160) {
            p.observePrefill(l, ttft(l));
        }
        assertTrue(p.knowsPrefill());
        for (int l : new int[] {1, 100, 2000, 8192}) {
            assertEquals(ttft(l), p.predictTtft(l), 1e-9 * Math.max(1, ttft(l)), "TTFT at " + l);
        }
    }

    @Test
    void recoversTpotFromExactSamples() {
        TimePredictor p = new TimePredictor();
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 100; i++) {
            int batch = random.nextInt(1, 64);
            long tokens = batch * (long) random.nextInt(16, 2048);
            p.observeDecode(batch, tokens, tpot(batch, tokens));
        }
        assertTrue(p.knowsDecode());
        assertEquals(tpot(12, 12_000), p.predictTpot(12, 12_000), 1e-12);
        assertEquals(tpot(128, 400_000), p.predictTpot(128, 400_000), 1e-12);
    }

    @Test
    void noisySamplesGiveCloseFits() {
        TimePredictor p = new TimePredictor();
        SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < TimePredictor.WINDOW; i++) {
            int l = random.nextInt(16, 4096);
            p.observePrefill(l, ttft(l) * (1 + 0.05 * (random.nextDouble() * 2 - 1)));
            int batch = random.nextInt(1, 64);
            long tokens = batch * (long) random.nextInt(16, 2048);
            p.observeDecode(batch, tokens, tpot(batch, tokens) * (1 + 0.05 * (random.nextDouble() * 2 - 1)));
        }
        for (int l : new int[] {64, 1024, 4000}) {
            assertEquals(ttft(l), p.predictTtft(l), 0.03 * ttft(l), "TTFT at " + l);
        }
        assertEquals(tpot(8, 4000), p.predictTpot(8, 4000), 0.03 * tpot(8, 4000));
        assertEquals(tpot(48, 60_000), p.predictTpot(48, 60_000), 0.03 * tpot(48, 60_000));
    }

    @Test
    void promptsOfOneLengthPredictTheirMeanTime() {
        TimePredictor p = new TimePredictor();
        p.observePrefill(512, 0.10);
        p.observePrefill(512, 0.12);
        p.observePrefill(512, 0.11);
        assertFalse(p.knowsPrefill(), "three samples are too few");
        p.observePrefill(512, 0.13);
        assertTrue(p.knowsPrefill());
        assertEquals(0.115, p.predictTtft(512), 1e-12);
        assertEquals(0.115, p.predictTtft(8192), 1e-12, "no extrapolation from a single length");
    }

    @Test
    void twoLengthsGiveALine() {
        TimePredictor p = new TimePredictor();
        for (int i = 0; i < 4; i++) {
            p.observePrefill(100, 0.1);
            p.observePrefill(200, 0.2);
        }
        assertEquals(0.4, p.predictTtft(400), 1e-9);
    }

    @Test
    void aFitWhereMoreWorkTakesLessTimeFallsBackToTheMean() {
        TimePredictor p = new TimePredictor();
        for (int i = 0; i < 4; i++) {
            p.observePrefill(100, 0.3);
            p.observePrefill(200, 0.1);
        }
        assertEquals(0.2, p.predictTtft(10_000), 1e-12);
        assertEquals(0.2, p.predictTtft(1), 1e-12);
    }

    @Test
    void batchAndTokensInFixedRatioFitOneTerm() {
        TimePredictor p = new TimePredictor();
        for (int batch = 1; batch <= 8; batch++) {
            p.observeDecode(batch, 1000L * batch, 0.01 + 0.002 * batch);
        }
        assertEquals(0.01 + 0.002 * 16, p.predictTpot(16, 16_000), 1e-12);
    }

    @Test
    void aTermWithoutEffectDoesNotDisplaceTheOther() {
        TimePredictor p = new TimePredictor();
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 64; i++) {
            int batch = random.nextInt(1, 32);
            p.observeDecode(batch, random.nextLong(100, 50_000), 0.01 + 0.004 * batch);
        }
        assertEquals(0.01 + 0.004 * 20, p.predictTpot(20, 1_000), 1e-9);
        assertEquals(0.01 + 0.004 * 20, p.predictTpot(20, 100_000), 1e-9);
    }

    @Test
    void predictionsAreZeroBeforeAnySampleAndNeverNegative() {
        TimePredictor p = new TimePredictor();
        assertEquals(0, p.predictTtft(100));
        assertEquals(0, p.predictTpot(4, 400));
        for (int l = 100; l <= 800; l += 100) {
            p.observePrefill(l, 1e-4 * (l - 90));
        }
        assertEquals(0, p.predictTtft(1), "a line below zero for short prompts is clamped");
    }

    @Test
    void theWindowForgetsAnOldRegime() {
        TimePredictor p = new TimePredictor();
        for (int i = 0; i < TimePredictor.WINDOW; i++) {
            int l = 64 + 16 * i;
            p.observePrefill(l, 10 * ttft(l));
            p.observeDecode(1 + i % 32, 1000L * (1 + i % 7), 10 * tpot(1 + i % 32, 1000L * (1 + i % 7)));
        }
        assertEquals(10 * ttft(1000), p.predictTtft(1000), 1e-9);
        for (int i = 0; i < TimePredictor.WINDOW; i++) {
            int l = 64 + 16 * i;
            p.observePrefill(l, ttft(l));
            p.observeDecode(1 + i % 32, 1000L * (1 + i % 7), tpot(1 + i % 32, 1000L * (1 + i % 7)));
        }
        assertEquals(ttft(1000), p.predictTtft(1000), 1e-9);
        assertEquals(tpot(10, 5000), p.predictTpot(10, 5000), 1e-9);
    }

    @Test
    void rejectsImpossibleSamples() {
        TimePredictor p = new TimePredictor();
        assertThrows(IllegalArgumentException.class, () -> p.observePrefill(0, 0.1));
        assertThrows(IllegalArgumentException.class, () -> p.observePrefill(10, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> p.observeDecode(1, 10, -1));
    }
}
