package xllm.cli.bench;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/** The expert-load report names every MoE layer, shows imbalance before and after, and finds outputs unchanged. */
class MoeBenchmarkTest {

    @Test
    void reportsEverySparseLayer() {
        String report = MoeBenchmark.run(fixture("arch/deepseek_v3"), 12, 4, 32, 4, 3);
        assertTrue(report.contains("deepseek_v3"), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("1 ")), report);
        assertTrue(report.lines().anyMatch(l -> l.trim().startsWith("2 ")), report);
        assertTrue(report.lines().noneMatch(l -> l.trim().startsWith("0 ")), "layer 0 is dense: " + report);
        assertTrue(report.contains("->"), report);
        assertTrue(report.contains("outputs identical"), report);
        // every token the model reads goes to its 2 experts: 4 prompts of 32 (whole blocks, a prefix cache could
        // skip them on the timed reruns), then 3 of the 4 generated fed back
        assertTrue(report.lines().filter(l -> l.trim().matches("[12] .*")).allMatch(l -> l.trim().split("\\s+")[1].equals("280")),
                "each sparse layer routed 4 x (32 + 3) x 2 = 280 tokens: " + report);
    }

    @Test
    void refusesFewerSlotsThanExpertsAndDenseModels() {
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(fixture("arch/qwen3_moe"), 7));
        assertThrows(IllegalArgumentException.class, () -> MoeBenchmark.run(fixture("arch/qwen3"), 8));
    }

    /** A directory under the repository's {@code fixtures/}. */
    private static Path fixture(String rel) {
        return Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"))
                .resolve("fixtures").resolve(rel);
    }
}
