package xllm.kv.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader sleeping on a doorbell wakes when another opener of the same file rings it, not only when its wait runs
 * out; a ring that came before it slept is not missed; the file is private.
 */
class DoorbellTest {
    @TempDir
    Path dir;

    @Test
    void aRingThroughAnotherMappingWakesASleepingReader() throws Exception {
        Path file = dir.resolve("doorbell");
        try (Doorbell reader = Doorbell.open(file); Doorbell writer = Doorbell.open(file)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            CountDownLatch asleep = new CountDownLatch(1);
            Thread ringer = Thread.ofPlatform().start(() -> {
                try {
                    asleep.await();
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
                writer.ring();
            });
            int ticket = reader.ticket();
            asleep.countDown();
            long start = System.nanoTime();
            reader.await(ticket, 60_000_000_000L);
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            ringer.join();
            assertTrue(waitedMillis < 30_000, "woken by the ring, not by the minute's timeout: " + waitedMillis + " ms");
            assertTrue(reader.ticket() != ticket, "the ring shows in the next ticket");
        }
    }

    @Test
    void aRingBeforeTheWaitIsNotMissedAndSilenceTimesOut() {
        try (Doorbell bell = Doorbell.open(dir.resolve("doorbell"))) {
            int ticket = bell.ticket();
            bell.ring();
            long start = System.nanoTime();
            bell.await(ticket, 60_000_000_000L);
            assertTrue(System.nanoTime() - start < 30_000_000_000L, "a ring since the ticket: no sleep");
            start = System.nanoTime();
            bell.await(bell.ticket(), 50_000_000L);
            long sleptMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(sleptMillis >= 40, "no ring: sleeps its time out, " + sleptMillis + " ms");
        }
    }
}
