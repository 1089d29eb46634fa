package xllm.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import xllm.engine.tokenizer.Tokenizer;

/**
 * Prompts for decoding benchmarks, made from Python functions bundled with the command line (from CPython's
 * standard library): plain completion continues the opening lines of a function; editing shows a whole
 * function as a file and starts its revised version, which the model goes on to write out, much of it copied.
 */
public enum Workload {
    /** The first third of a function (at least its first three lines), to complete. */
    COMPLETION,
    /** A function as a file, then the first line of its revision: the output rewrites it. */
    EDITING;

    private static final String SEPARATOR = "# ----8<----";
    private static final List<String> FUNCTIONS = load();

    /** The workload named {@code name} (completion or editing). */
    public static Workload parse(String name) {
        for (Workload w : values()) {
            if (w.name().toLowerCase(Locale.ROOT).equals(name)) {
                return w;
            }
        }
        throw new IllegalArgumentException("workload must be completion or editing, got \"" + name + "\"");
    }

    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code count} prompts, each from another function while there are enough of them, tokenized. */
    public List<int[]> prompts(Tokenizer tokenizer, int count) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            prompts.add(tokenizer.encode(text(FUNCTIONS.get(i % FUNCTIONS.size())), true));
        }
        return prompts;
    }

    /** The prompt text made from {@code function}. */
    String text(String function) {
        String[] lines = function.split("\n");
        return switch (this) {
            case COMPLETION -> String.join("\n", Arrays.copyOf(lines, Math.max(3, lines.length / 3))) + "\n";
            case EDITING -> "# original version\n" + function + "\n\n\n# revised version\n" + lines[0] + "\n";
        };
    }

    private static List<String> load() {
        try (InputStream in = Workload.class.getResourceAsStream("python-functions.txt")) {
            if (in == null) {
                throw new IllegalStateException("the benchmark prompts (python-functions.txt) are missing from the xllm.cli module");
            }
            String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            List<String> functions = new ArrayList<>();
            String[] parts = all.split("\n" + SEPARATOR + "\n");
            for (int i = 1; i < parts.length; i++) { // parts[0] is the header
                functions.add(parts[i].stripTrailing());
            }
            return List.copyOf(functions);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the benchmark prompts: " + e.getMessage(), e);
        }
    }
}
