package xllm.engine;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The repository's checked-in test data ({@code fixtures/}, {@code models/}), found under the system
 * property {@code xllm.root} that the root pom.xml's surefire configuration sets to the repository root.
 */
public final class TestData {
    private TestData() {
    }

    /** The repository root. */
    public static Path root() {
        return Path.of(Objects.requireNonNull(System.getProperty("xllm.root"),
                "system property xllm.root (the repository root) is not set: run the tests through ./mvnw, whose root pom.xml sets it"));
    }

    /** A path under {@code fixtures/}, e.g. {@code fixture("tokenizers/bytelevel-bpe")}. */
    public static Path fixture(String rel) {
        return root().resolve("fixtures").resolve(rel);
    }

    /** A model directory under {@code models/}, e.g. {@code model("pycoder-22m")}. */
    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }
}
