package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import xllm.kv.files.PrivateFiles;

/**
 * The supervisor brings a dead worker back even when something goes wrong on the way, with real processes: a
 * worker here is a script that exits at once, so every start is followed by a death.
 */
class WorkerSupervisorTest {
    @TempDir
    Path dir;

    @Test
    void aFailureToMoveADeadWorkersWorkDoesNotCostItsRestart() throws Exception {
        Path worker = script("worker");
        CountDownLatch deaths = new CountDownLatch(2);
        AtomicInteger calls = new AtomicInteger();
        try (WorkerSupervisor supervisor = supervisor(worker, w -> {
            deaths.countDown();
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("the router could not move the flights");
            }
        })) {
            supervisor.start(0);
            assertTrue(deaths.await(20, TimeUnit.SECONDS), "the worker was started again after the failed hand-over");
        }
    }

    @Test
    void aWorkerThatCannotBeStartedAgainIsTriedUntilItCan() throws Exception {
        Path worker = script("worker");
        Path away = dir.resolve("worker.away");
        CountDownLatch firstDeath = new CountDownLatch(1);
        CountDownLatch secondDeath = new CountDownLatch(2);
        try (WorkerSupervisor supervisor = supervisor(worker, w -> {
            if (firstDeath.getCount() == 1) {
                move(worker, away); // the next start fails: no such program
            }
            firstDeath.countDown();
            secondDeath.countDown();
        })) {
            supervisor.start(0);
            assertTrue(firstDeath.await(20, TimeUnit.SECONDS));
            Thread.sleep(3_000); // a restart attempt (after the 2 s pause for a quick death) fails meanwhile
            move(away, worker);
            assertTrue(secondDeath.await(20, TimeUnit.SECONDS), "a later attempt started the worker once it could be");
        }
    }

    private WorkerSupervisor supervisor(Path worker, IntConsumer onDeath) {
        ShmLayout layout = new ShmLayout(PrivateFiles.directory(dir.resolve("shm")));
        return new WorkerSupervisor(List.of(worker.toString()), Set.of(), layout, 1, onDeath);
    }

    private Path script(String name) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\nexit 3\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    private static void move(Path from, Path to) {
        try {
            Files.move(from, to);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
