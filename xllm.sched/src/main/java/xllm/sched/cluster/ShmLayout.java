package xllm.sched.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Where each shared file of a deployment lives under its shared-memory directory. */
record ShmLayout(Path dir) {
    Path requests(int worker) {
        return dir.resolve("requests-" + worker);
    }

    Path events(int worker) {
        return dir.resolve("events-" + worker);
    }

    /** The KV arena file of worker {@code worker}'s process {@code pid}: a new process starts a new file. */
    Path kvPages(int worker, long pid) {
        return dir.resolve("kv-pages-" + worker + "-" + pid);
    }

    /** Removes the arena files that earlier processes of {@code worker} left. */
    void removeKvPages(int worker) {
        String prefix = "kv-pages-" + worker + "-";
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                if (p.getFileName().toString().startsWith(prefix)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the KV arenas of worker " + worker + " in " + dir, e);
        }
    }

    Path journal() {
        return dir.resolve("journal");
    }

    Path kvIndex() {
        return dir.resolve("kv-index");
    }

    /** The process ids of the workers last started, so that a restarted router can end strays. */
    Path workerPids() {
        return dir.resolve("worker-pids");
    }

    /** Removes what workers shared with a router that is gone: channels, index, pid list; keeps the journal. */
    void clearChannels() {
        try (Stream<Path> entries = Files.exists(dir) ? Files.list(dir) : Stream.empty()) {
            for (Path p : entries.toList()) {
                if (!p.equals(journal())) {
                    delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear " + dir, e);
        }
    }

    /** Removes the whole directory, journal included: after a clean shutdown nothing is left to recover. */
    void removeAll() {
        delete(dir);
    }

    private static void delete(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root, e);
        }
    }
}
