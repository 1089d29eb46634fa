package xllm.engine;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the project's bundled models and reference fixtures from any module's test run. */
public final class TestData {
    private TestData() {
    }

    public static Path root() {
        String configured = System.getProperty("xllm.root");
        if (configured != null) {
            return Path.of(configured);
        }
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("fixtures"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("cannot find the project root (a directory holding fixtures/)");
        }
        return dir;
    }

    public static Path fixture(String relative) {
        return root().resolve("fixtures").resolve(relative);
    }

    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }
}
