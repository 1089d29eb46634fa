package xllm.cli.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The expert-load report names every MoE layer, shows imbalance before and after, and finds outputs unchanged. */
class MoeBenchmarkTest {

    @Test
    void reportsEverySparseLayer() {
        String report = MoeBenchmark.run(fixture("arch/deepseek_v3"), 12, 4, 16, 4, 3);
        assertTrue(report.contains("deepseek_v3"), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("1 ")), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("2 ")), report);
        assertTrue(report.lines().noneMatch(l -> l.trim().startsWith("0 ")), "layer 0 is dense: " + report);
        assertTrue(report.contains("->"), report);
        assertTrue(report.contains("outputs identical"), report);
    }

    @Test
    void refusesFewerSlotsThanExpertsAndDenseModels() {
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(fixture("arch/qwen3_moe"), 7));
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(fixture("arch/qwen3"), 8));
    }

    /** A directory under the repository's {@code fixtures/}, found from the working directory up. */
    private static Path fixture(String rel) {
        Path dir = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(dir.resolve("fixtures"))) {
            dir = dir.getParent();
        }
        return dir.resolve("fixtures").resolve(rel);
    }
}
