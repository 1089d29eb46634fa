package xllm.sched.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import xllm.kv.files.PrivateFiles;

/**
 * Starts the worker processes, notices when one ends (exit, crash, kill -9) and starts it again, and
 * keeps their process ids on file so that a restarted router can end the strays of its predecessor. Each death
 * is handled on a thread of its own, which tries the restart until it succeeds or the supervisor closes.
 */
final class WorkerSupervisor implements AutoCloseable {
    private static final String WORKER_MARK = " worker ";
    private static final long QUICK_DEATH_MILLIS = 2_000;

    private final List<String> command;
    private final Set<String> withheldVariables;
    private final ShmLayout layout;
    private final IntConsumer onDeath;
    private final Process[] processes;
    private volatile boolean closing;

    /**
     * @param command how to run {@code xllm worker} with its model options, without the per-worker ones
     * @param withheldVariables environment variables of this process the workers do not get
     * @param onDeath told the worker's id once its process has ended, before the restart
     */
    WorkerSupervisor(List<String> command, Set<String> withheldVariables, ShmLayout layout, int workers, IntConsumer onDeath) {
        this.command = List.copyOf(command);
        this.withheldVariables = Set.copyOf(withheldVariables);
        this.layout = layout;
        this.onDeath = onDeath;
        this.processes = new Process[workers];
    }

    /** Ends workers that an earlier router left running. */
    static void endStrays(ShmLayout layout) {
        if (!Files.exists(layout.workerPids())) {
            return;
        }
        try {
            for (String line : Files.readAllLines(layout.workerPids())) {
                Optional<ProcessHandle> p = line.isBlank() ? Optional.empty() : ProcessHandle.of(Long.parseLong(line.trim()));
                if (p.isPresent() && p.get().info().commandLine().orElse("").contains(WORKER_MARK)) {
                    System.err.println("xllm: ending worker " + p.get().pid() + " of an earlier router");
                    p.get().destroyForcibly();
                    p.get().onExit().get(10, TimeUnit.SECONDS);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + layout.workerPids(), e);
        } catch (Exception e) {
            System.err.println("xllm: could not end an earlier worker: " + e);
        }
    }

    synchronized void start(int worker) {
        if (closing) {
            return;
        }
        List<String> args = new ArrayList<>(command);
        args.addAll(List.of("--id", Integer.toString(worker), "--dir", layout.dir().toString(),
                "--router-pid", Long.toString(ProcessHandle.current().pid())));
        try {
            ProcessBuilder builder = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
            builder.environment().keySet().removeAll(withheldVariables);
            Process p = builder.start();
            processes[worker] = p;
            // on a thread of its own: a stage added to a process that has already ended runs at once in this thread,
            // which holds the lock and, at start-up, is the router's
            p.onExit().thenRunAsync(() -> ended(worker, p), r -> Thread.ofPlatform().name("xllm-restart-" + worker).daemon().start(r));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start worker " + worker + " (" + String.join(" ", args) + ")", e);
        }
        try {
            writePids();
        } catch (IOException e) {
            // the worker runs; only a later router's clean-up of strays misses it
            System.err.println("xllm: cannot record the worker pids in " + layout.workerPids() + ": " + e.getMessage());
        }
    }

    private void ended(int worker, Process p) {
        if (closing) {
            return;
        }
        System.err.println("xllm: worker " + worker + " (pid " + p.pid() + ") ended with status " + p.exitValue() + "; restarting it");
        try {
            onDeath.accept(worker);
        } catch (RuntimeException e) {
            // this runs in a CompletableFuture stage, which would swallow the exception and the restart with it
            System.err.println("xllm: moving the work of worker " + worker + " failed; restarting it anyway: " + e);
        }
        long lived = System.currentTimeMillis() - p.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
        // a worker that cannot even start would otherwise be restarted in a tight loop
        boolean pause = lived < QUICK_DEATH_MILLIS;
        while (!closing) {
            if (pause && !pauseBeforeRestart()) {
                return;
            }
            try {
                start(worker);
                return;
            } catch (RuntimeException e) {
                String why = e.getCause() == null ? e.getMessage() : e.getMessage() + ": " + e.getCause().getMessage();
                System.err.println("xllm: cannot restart worker " + worker + "; trying again in " + QUICK_DEATH_MILLIS + " ms: " + why);
                pause = true;
            }
        }
    }

    /** False when interrupted. */
    private static boolean pauseBeforeRestart() {
        try {
            Thread.sleep(QUICK_DEATH_MILLIS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The worker's current process id, or -1. */
    synchronized long pid(int worker) {
        return processes[worker] == null ? -1 : processes[worker].pid();
    }

    /** Whether {@code pid} is the running process of {@code worker}: not one that ended or was replaced. */
    synchronized boolean runs(int worker, long pid) {
        Process p = processes[worker];
        return p != null && p.pid() == pid && p.isAlive();
    }

    /** Kills a worker that stopped answering; its death is then handled as any other. */
    synchronized void kill(int worker) {
        if (processes[worker] != null) {
            processes[worker].destroyForcibly();
        }
    }

    private void writePids() throws IOException {
        StringBuilder pids = new StringBuilder();
        for (Process p : processes) {
            if (p != null) {
                pids.append(p.pid()).append('\n');
            }
        }
        PrivateFiles.write(layout.workerPids(), pids.toString());
    }

    @Override
    public void close() {
        synchronized (this) {
            closing = true;
        }
        for (Process p : processes) {
            if (p != null) {
                p.destroy();
            }
        }
        for (Process p : processes) {
            try {
                if (p != null && !p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
