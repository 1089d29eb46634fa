package xllm.sched;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ServiceMetricsTest {
    @Test
    void forgettingTheWarmUpLeavesNoSpeculationBehind() {
        ServiceMetrics metrics = new ServiceMetrics("m");
        metrics.speculated(4, 3);
        assertTrue(metrics.render().contains("position=\"3\""), metrics.render());

        metrics.forgetWarmUp();
        SpecDecodeCounts none = metrics.specDecodeCounts();
        assertEquals(0, none.drafts());
        assertArrayEquals(new long[0], none.acceptedAtPosition(), "no position a served request has drafted");
        assertFalse(metrics.render().contains("_per_pos_total{"), metrics.render());

        metrics.speculated(2, 1);
        assertArrayEquals(new long[] {1, 0}, metrics.specDecodeCounts().acceptedAtPosition());
    }
}
