package xllm.engine.weights;

import java.nio.file.Path;

/** A model file that cannot be used: the message names the file and the problem in one line. */
public final class ModelFileException extends RuntimeException {
    public ModelFileException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public ModelFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
