package xllm.sched;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import xllm.engine.kernel.Gemm;

/** This process's resident memory as Linux counts it ({@code /proc/self/smaps}, {@code /proc/self/status}). */
public final class ResidentMemory {
    private ResidentMemory() {
    }

    /** Resident bytes of the mappings of files under {@code path} (a model's weight files); -1 when unreadable. */
    public static long ofFilesUnder(Path path) {
        String prefix = path.toAbsolutePath().normalize().toString();
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        } catch (IOException e) {
            return -1;
        }
        long kb = 0;
        boolean inside = false;
        for (String line : lines) {
            if (isMappingLine(line)) {
                int slash = line.indexOf('/');
                inside = slash >= 0 && line.substring(slash).startsWith(prefix);
            } else if (inside && line.startsWith("Rss:")) {
                kb += Long.parseLong(line.substring(4).replace("kB", "").trim());
            }
        }
        return kb * 1024;
    }

    /**
     * Resident bytes of a model's weights: the pages of its files mapped under {@code path}, and the copies the
     * kernels repacked out of them; -1 when unreadable.
     */
    public static long ofWeights(Path path) {
        long mapped = ofFilesUnder(path);
        return mapped < 0 ? -1 : mapped + Gemm.repackedWeightBytes();
    }

    /** The whole process's resident set (VmRSS); -1 when unreadable. */
    public static long ofProcess() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).replace("kB", "").trim()) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** A mapping's first line: {@code start-end perms offset dev inode [path]}, addresses in hex. */
    private static boolean isMappingLine(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        return dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }
}
