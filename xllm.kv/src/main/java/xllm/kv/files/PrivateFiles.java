package xllm.kv.files;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Files and directories that only this process's user can reach: every directory xLLM makes is {@code 0700},
 * every file {@code 0600}, and none is created through a symbolic link. An existing directory is used only if it
 * is ours (owned by this user, no access for group or others, not a link), and every existing directory above it
 * must be safe from other users (owned by root or this user, and writable by others only when sticky, as
 * {@code /tmp} is), else a {@link PrivatePathException} names the path and the problem. Here, in the lowest
 * module that writes files (the KV arena), so that every module above follows the same rules. Stateless;
 * thread-safe.
 */
public final class PrivateFiles {
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_DIRECTORY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final int GROUP_OTHER_BITS = 0077;
    private static final int GROUP_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private PrivateFiles() {
    }

    /** {@code dir}, made {@code 0700} with any missing parents, or checked to be ours when it exists. */
    public static Path directory(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        Deque<Path> missing = new ArrayDeque<>();
        Path existing = target;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            missing.push(existing);
            existing = existing.getParent();
        }
        checkAncestors(missing.isEmpty() ? target.getParent() : existing, target);
        if (missing.isEmpty()) {
            checkOurs(target);
            return target;
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p, OWNER_DIRECTORY);
            } catch (FileAlreadyExistsException raced) {
                // someone made it between our look and our mkdir: it is used only if it is ours
            } catch (IOException e) {
                throw new PrivatePathException(p, "cannot be created (" + e.getMessage() + ")");
            }
            checkOurs(p);
        }
        return target;
    }

    /** A new file of mode {@code 0600}, open for writing and {@code more}; fails if anything, a link included, is there. */
    public static FileChannel newFile(Path file, OpenOption... more) throws IOException {
        Set<OpenOption> options = new HashSet<>(List.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
        options.addAll(List.of(more));
        return FileChannel.open(file, options, OWNER_FILE);
    }

    /**
     * {@code file} open for reading and writing, made as mode {@code 0600} when it is not there yet: a file that
     * several processes of this user open, whichever comes first; a link there is refused, not followed.
     */
    public static FileChannel openOrCreate(Path file) throws IOException {
        return FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), OWNER_FILE);
    }

    /**
     * Writes {@code file} whole, as mode {@code 0600}: into a new temporary file beside it, then renamed over it, so
     * that readers see the old content or the new, and a link at {@code file} is replaced rather than followed.
     */
    public static void write(Path file, String content) throws IOException {
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp", OWNER_FILE);
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8, LinkOption.NOFOLLOW_LINKS);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Makes every file and directory this process creates from now on owner-only ({@code umask 077}), those made
     * by libraries too (Chronicle's queues and map). The private directory already keeps other users out; this
     * keeps a copied or moved file private as well.
     */
    public static void ownerOnlyByDefault() {
        try {
            int previous = (int) Libc.UMASK.invokeExact(GROUP_OTHER_BITS);
        } catch (Throwable e) {
            System.err.println("xllm: warning: cannot set the file mode mask (" + e + "); files made by libraries may be readable by others");
        }
    }

    private static void checkOurs(Path dir) {
        Map<String, Object> a = unixAttributes(dir);
        int mode = (Integer) a.get("mode");
        if (Files.isSymbolicLink(dir)) {
            throw new PrivatePathException(dir, "is a symbolic link");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new PrivatePathException(dir, "is not a directory");
        }
        if ((Integer) a.get("uid") != Libc.UID) {
            throw new PrivatePathException(dir, "belongs to another user (uid " + a.get("uid") + ", this process is uid " + Libc.UID + ")");
        }
        if ((mode & GROUP_OTHER_BITS) != 0) {
            throw new PrivatePathException(dir, "is open to other users (mode " + Integer.toOctalString(mode & 07777) + ", needs 700)");
        }
    }

    /** Every existing directory from the root down to {@code last}: another user must not be able to swap {@code target}. */
    private static void checkAncestors(Path last, Path target) {
        if (last == null) {
            return;
        }
        Path p = last.getRoot();
        for (int i = 0; i <= last.getNameCount(); i++) {
            if (i > 0) {
                p = p.resolve(last.getName(i - 1));
            }
            Map<String, Object> a = unixAttributes(p);
            int uid = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            if (uid != 0 && uid != Libc.UID) {
                throw new PrivatePathException(target, "lies under " + p + ", which belongs to another user (uid " + uid + ")");
            }
            if (!Files.isSymbolicLink(p) && (mode & GROUP_OTHER_WRITE) != 0 && (mode & STICKY) == 0) {
                throw new PrivatePathException(target, "lies under " + p + ", which other users may write (mode "
                        + Integer.toOctalString(mode & 07777) + ")");
            }
        }
    }

    private static Map<String, Object> unixAttributes(Path p) {
        try {
            return Files.readAttributes(p, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new PrivatePathException(p, "cannot be read (" + e.getMessage() + ")");
        }
    }

    /** The two C library calls Java has no API for. */
    private static final class Libc {
        static final MethodHandle UMASK = function("umask");
        static final int UID = uid();

        private static MethodHandle function(String name) {
            Linker linker = Linker.nativeLinker();
            return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        }

        private static int uid() {
            Linker linker = Linker.nativeLinker();
            MethodHandle geteuid = linker.downcallHandle(linker.defaultLookup().find("geteuid").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            try {
                return (int) geteuid.invokeExact();
            } catch (Throwable e) {
                throw new IllegalStateException("cannot tell this process's user id", e);
            }
        }
    }
}
