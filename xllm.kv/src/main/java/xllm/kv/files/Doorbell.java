package xllm.kv.files;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Wakes a reader in another process when a writer has published something, so that the reader sleeps instead of
 * polling: a counter in a small shared file and a Linux futex on it. A writer {@linkplain #ring rings} after each
 * publication; a reader takes a {@linkplain #ticket ticket}, reads all there is, and {@linkplain #await awaits}
 * with the ticket, which returns at once when a ring came since. A ring costs an atomic add, and a system call
 * only while a reader sleeps. Any thread of any process may ring; one thread at a time may await.
 */
public final class Doorbell implements AutoCloseable {
    private static final long FILE_BYTES = 4096;
    private static final long RINGS = 0;
    private static final long SLEEPERS = 64;
    private static final long SYS_FUTEX = 202;
    /** Without FUTEX_PRIVATE_FLAG: the word is shared between processes. */
    private static final int FUTEX_WAIT = 0;
    private static final int FUTEX_WAKE = 1;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final MethodHandle SYSCALL;

    static {
        Linker linker = Linker.nativeLinker();
        SYSCALL = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                Linker.Option.firstVariadicArg(1));
    }

    private final Arena arena;
    private final MemorySegment word;
    /** The relative timeout of a wait: {seconds, nanoseconds}; only the awaiting thread writes it. */
    private final MemorySegment timeout;

    private Doorbell(Arena arena, MemorySegment word) {
        this.arena = arena;
        this.word = word;
        this.timeout = arena.allocate(16, 8);
    }

    /**
     * The doorbell in {@code file}, made as an owner-only file when no process has yet; in a private directory
     * ({@link PrivateFiles#directory}), so no other user can have put it there.
     */
    public static Doorbell open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = PrivateFiles.openOrCreate(file)) {
            if (channel.size() < FILE_BYTES) {
                channel.write(ByteBuffer.allocate(1), FILE_BYTES - 1); // zeros up to the end; never shrinks a counter in use
            }
            return new Doorbell(arena, channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_BYTES, arena));
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot open the doorbell " + file, e);
        }
    }

    /** Tells a sleeping reader that something was published (after publishing it). */
    public void ring() {
        INT.getAndAdd(word, RINGS, 1);
        if ((int) INT.getVolatile(word, SLEEPERS) != 0) {
            futex(FUTEX_WAKE, Integer.MAX_VALUE, MemorySegment.NULL);
        }
    }

    /** What to {@link #await} with: taken before reading what there is. */
    public int ticket() {
        return (int) INT.getVolatile(word, RINGS);
    }

    /** Sleeps until a ring after {@code ticket} was taken, or {@code nanos} pass; at once if one came already. */
    public void await(int ticket, long nanos) {
        timeout.set(ValueLayout.JAVA_LONG, 0, nanos / 1_000_000_000L);
        timeout.set(ValueLayout.JAVA_LONG, 8, nanos % 1_000_000_000L);
        INT.getAndAdd(word, SLEEPERS, 1);
        try {
            futex(FUTEX_WAIT, ticket, timeout); // returns at once unless the counter still holds the ticket
        } finally {
            INT.getAndAdd(word, SLEEPERS, -1);
        }
    }

    private void futex(int op, int value, MemorySegment time) {
        try {
            long unused = (long) SYSCALL.invokeExact(SYS_FUTEX, word, op, value, time, MemorySegment.NULL, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("futex failed", t);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
