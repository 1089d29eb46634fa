package xllm.kv.files;

import java.nio.file.Path;

/** A path that cannot be used privately: its message names the path, the problem and what to do. */
public final class PrivatePathException extends RuntimeException {
    private final Path path;

    public PrivatePathException(Path path, String problem) {
        super(path + " " + problem + ": xLLM keeps its state only where no other user can reach it (a directory of this"
                + " user's own, mode 700); remove it, or choose another path");
        this.path = path;
    }

    public Path path() {
        return path;
    }
}
