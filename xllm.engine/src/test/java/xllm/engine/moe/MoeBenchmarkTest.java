package xllm.engine.moe;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import xllm.engine.TestData;

/** The expert-load report names every MoE layer, shows imbalance before and after, and finds outputs unchanged. */
class MoeBenchmarkTest {

    @Test
    void reportsEverySparseLayer() {
        String report = MoeBenchmark.run(TestData.fixture("arch/deepseek_v3"), 12, 4, 16, 4, 3);
        assertTrue(report.contains("deepseek_v3"), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("1 ")), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("2 ")), report);
        assertTrue(report.lines().noneMatch(l -> l.trim().startsWith("0 ")), "layer 0 is dense: " + report);
        assertTrue(report.contains("->"), report);
        assertTrue(report.contains("outputs identical"), report);
    }

    @Test
    void refusesFewerSlotsThanExpertsAndDenseModels() {
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(TestData.fixture("arch/qwen3_moe"), 7));
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(TestData.fixture("arch/qwen3"), 8));
    }
}
