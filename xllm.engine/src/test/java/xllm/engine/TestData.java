package xllm.engine;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the repository's checked-in test data ({@code fixtures/}, {@code models/}) from any test:
 * system property {@code xllm.root} if set, else the nearest ancestor of the working directory that
 * contains {@code fixtures/}.
 */
public final class TestData {
    private static volatile Path root;

    private TestData() {
    }

    /** The repository root. */
    public static Path root() {
        Path r = root;
        if (r == null) {
            r = locate();
            root = r;
        }
        return r;
    }

    /** A path under {@code fixtures/}, e.g. {@code fixture("tokenizers/bytelevel-bpe")}. */
    public static Path fixture(String rel) {
        return root().resolve("fixtures").resolve(rel);
    }

    /** A model directory under {@code models/}, e.g. {@code model("pycoder-22m")}. */
    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }

    private static Path locate() {
        String configured = System.getProperty("xllm.root");
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured).toAbsolutePath().normalize();
            if (!Files.isDirectory(p.resolve("fixtures"))) {
                throw new IllegalStateException("-Dxllm.root=" + configured + " has no fixtures/ directory");
            }
            return p;
        }
        Path start = Path.of("").toAbsolutePath().normalize();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("fixtures"))) {
                return p;
            }
        }
        throw new IllegalStateException("no fixtures/ directory above " + start + "; set -Dxllm.root");
    }
}
