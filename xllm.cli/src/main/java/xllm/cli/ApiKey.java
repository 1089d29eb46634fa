package xllm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * The API key, read where other users cannot see it: the environment variable {@value #VARIABLE} (as vLLM reads
 * {@code VLLM_API_KEY}) or {@code --api-key-file FILE}. {@code --api-key KEY} still works but warns, as the process
 * list shows every argument to every user of the machine.
 */
final class ApiKey {
    static final String VARIABLE = "XLLM_API_KEY";
    static final Set<String> OPTIONS = Set.of("--api-key", "--api-key-file");
    static final String USAGE = """
              --api-key-file FILE  the API key clients must send (Authorization: Bearer KEY), read from FILE; or set the
                            environment variable XLLM_API_KEY. --api-key KEY works too, but every user of the machine
                            sees it in the process list""";

    private ApiKey() {
    }

    /** The key given, or null for none. */
    static String from(Args args) {
        if (args.has("--api-key") && args.has("--api-key-file")) {
            throw new UsageException("give --api-key-file or --api-key, not both");
        }
        if (args.has("--api-key-file")) {
            return fromFile(Path.of(args.string("--api-key-file", "")));
        }
        if (args.has("--api-key")) {
            System.err.println("xllm: warning: --api-key shows the key to every user of this machine (ps); set " + VARIABLE
                    + " or use --api-key-file instead");
            return nonBlank(args.string("--api-key", ""), "--api-key");
        }
        String fromEnvironment = System.getenv(VARIABLE);
        return fromEnvironment == null || fromEnvironment.isEmpty() ? null : nonBlank(fromEnvironment, VARIABLE);
    }

    private static String fromFile(Path file) {
        String key;
        try {
            key = Files.readString(file).strip();
        } catch (IOException e) {
            throw new UsageException("--api-key-file " + file + ": cannot read it (" + e.getMessage() + ")");
        }
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"))) {
                System.err.println("xllm: warning: --api-key-file " + file + " can be read by other users; chmod 600 it");
            }
        } catch (IOException | UnsupportedOperationException e) {
            System.err.println("xllm: warning: cannot tell who may read --api-key-file " + file + ": " + e.getMessage());
        }
        return nonBlank(key, "--api-key-file " + file);
    }

    private static String nonBlank(String key, String source) {
        if (key.isBlank()) {
            throw new UsageException(source + " gives an empty API key");
        }
        return key;
    }
}
