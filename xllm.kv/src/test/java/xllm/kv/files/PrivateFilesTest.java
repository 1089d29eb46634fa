package xllm.kv.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateFilesTest {
    @TempDir
    Path tmp;

    @Test
    void createsMissingDirectoriesOwnerOnly() throws IOException {
        Path dir = tmp.resolve("a/b/c");
        assertEquals(dir, PrivateFiles.directory(dir));
        for (Path p = dir; !p.equals(tmp); p = p.getParent()) {
            assertEquals("rwx------", mode(p), p.toString());
        }
    }

    @Test
    void usesAnExistingDirectoryOfOurOwn() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("mine"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.writeString(dir.resolve("kept"), "x");
        PrivateFiles.directory(dir);
        assertTrue(Files.exists(dir.resolve("kept")));
    }

    @Test
    void refusesADirectoryOthersCanRead() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        PrivatePathException e = assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(dir));
        assertTrue(e.getMessage().startsWith(dir + " is open to other users (mode 755"), e.getMessage());
        assertEquals("rwxr-xr-x", mode(dir), "a refused directory is left as it was");
    }

    @Test
    void refusesASymbolicLinkEvenToAPrivateDirectory() throws IOException {
        Path target = PrivateFiles.directory(tmp.resolve("target"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
        PrivatePathException e = assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(link));
        assertEquals(link + " is a symbolic link", e.getMessage().substring(0, e.getMessage().indexOf(':')));
    }

    @Test
    void refusesADanglingSymbolicLinkRatherThanCreatingItsTarget() throws IOException {
        Path target = tmp.resolve("planted-target");
        Path link = Files.createSymbolicLink(tmp.resolve("planted"), target);
        assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(link));
        assertFalse(Files.exists(target, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void refusesAFileWhereTheDirectoryShouldBe() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        PrivatePathException e = assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(file));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void refusesADirectoryUnderOneOthersMayWrite() throws IOException {
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        PrivatePathException e = assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(shared.resolve("state")));
        assertTrue(e.getMessage().contains("lies under " + shared + ", which other users may write (mode 777)"), e.getMessage());
        assertFalse(Files.exists(shared.resolve("state")));
        // sticky, as /tmp and /dev/shm are: others cannot rename or remove what is ours
        Files.setAttribute(shared, "unix:mode", 01777);
        assertEquals(shared.resolve("state"), PrivateFiles.directory(shared.resolve("state")));
    }

    @Test
    void refusesADirectoryOfAnotherUser() throws IOException {
        UserPrincipal nobody = nobodyIfRoot();
        Path dir = PrivateFiles.directory(tmp.resolve("theirs"));
        Files.setOwner(dir, nobody);
        PrivatePathException e = assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(dir));
        assertTrue(e.getMessage().contains("belongs to another user"), e.getMessage());
        assertThrows(PrivatePathException.class, () -> PrivateFiles.directory(dir.resolve("below")));
    }

    @Test
    void newFileIsOwnerOnlyAndNeverFollowsALink() throws IOException {
        Path file = tmp.resolve("arena");
        try (FileChannel ch = PrivateFiles.newFile(file)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        }
        assertEquals("rw-------", mode(file));
        assertThrows(FileAlreadyExistsException.class, () -> PrivateFiles.newFile(file));
        Path victim = Files.writeString(tmp.resolve("victim"), "untouched");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), victim);
        assertThrows(FileAlreadyExistsException.class, () -> PrivateFiles.newFile(link));
        assertEquals("untouched", Files.readString(victim));
    }

    @Test
    void writeReplacesWholeAndReplacesALinkInsteadOfWritingThroughIt() throws IOException {
        Path file = tmp.resolve("pids");
        PrivateFiles.write(file, "1\n");
        PrivateFiles.write(file, "2\n");
        assertEquals("2\n", Files.readString(file));
        assertEquals("rw-------", mode(file));
        Path victim = Files.writeString(tmp.resolve("victim"), "untouched");
        Path link = Files.createSymbolicLink(tmp.resolve("planted"), victim);
        PrivateFiles.write(link, "ours");
        assertEquals("untouched", Files.readString(victim));
        assertFalse(Files.isSymbolicLink(link));
        assertEquals("ours", Files.readString(link));
        try (var left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file is left behind");
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    /** Another user's principal; only root can give a file away, so the test runs only as root. */
    private static UserPrincipal nobodyIfRoot() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "only root can make a directory of another user");
        return java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    }
}
