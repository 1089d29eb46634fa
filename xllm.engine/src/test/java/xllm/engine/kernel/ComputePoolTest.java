package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** Every index of every loop runs exactly once, loop after loop, and failures reach the caller. */
class ComputePoolTest {
    @Test
    void eachIndexRunsExactlyOnceAcrossManyBackToBackLoops() {
        try (ComputePool pool = new ComputePool(4)) {
            for (int loop = 0; loop < 20_000; loop++) {
                int n = 1 + loop % 97;
                int grain = 1 + loop % 5;
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                int expectedWorkers = pool.threads();
                pool.parallelFor(n, grain, (start, end, worker) -> {
                    assertTrue(worker >= 0 && worker < expectedWorkers);
                    for (int i = start; i < end; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(1, hits.get(i), "loop " + loop + " index " + i);
                }
            }
        }
    }

    @Test
    void aFailingChunkFailsTheLoopAndThePoolGoesOn() {
        try (ComputePool pool = new ComputePool(2)) {
            assertThrows(IllegalStateException.class, () -> pool.parallelFor(64, 1, (start, end, worker) -> {
                if (start <= 40 && 40 < end) {
                    throw new ArithmeticException("boom");
                }
            }));
            int[] sum = new int[1];
            pool.parallelFor(10, 10, (start, end, worker) -> sum[0] += end - start);
            assertEquals(10, sum[0]);
        }
    }
}
