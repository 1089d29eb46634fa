package xllm.sched;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import xllm.api.JobService;
import xllm.api.JobStatus;
import xllm.api.ServiceException;
import xllm.kv.files.PrivateFiles;

/**
 * Offline jobs kept on disk under a state directory: {@code jobs/<id>/request-<i>.json} as submitted and
 * {@code result-<i>.json} once run, each written to a temporary name and renamed, so that a crash leaves
 * either the whole file or none. Prompts and outputs are private: the directories are owner-only (mode 700), the
 * files too (600), and a state directory that exists already is checked at start and refused unless it is ours
 * (one that does not is made with the first job). On start every request without a result is run again, under
 * the same request id, so that a router can resume it from its journal. A fixed number of job threads run the
 * requests; the engines keep them to the slack that interactive traffic leaves. Thread-safe.
 */
public final class StoredJobs implements JobService, AutoCloseable {
    private static final int MAX_REQUESTS = 10_000;

    private final Path stateDir;
    private final Path jobsDir;
    private final ExecutorService pool;
    private final Set<String> started = ConcurrentHashMap.newKeySet();
    private volatile Runner runner;

    /** @param concurrency requests of all jobs that run at once */
    public StoredJobs(Path stateDir, int concurrency) {
        this.stateDir = stateDir;
        this.jobsDir = stateDir.resolve("jobs");
        if (Files.exists(stateDir, LinkOption.NOFOLLOW_LINKS)) {
            PrivateFiles.directory(stateDir);
            if (Files.exists(jobsDir, LinkOption.NOFOLLOW_LINKS)) {
                PrivateFiles.directory(jobsDir);
            }
        }
        this.pool = Executors.newFixedThreadPool(concurrency, Thread.ofVirtual().name("xllm-job-", 0).factory());
    }

    @Override
    public void start(Runner value) {
        this.runner = value;
        if (!Files.isDirectory(jobsDir)) {
            return; // no job was ever submitted here; the directory appears with the first
        }
        try (Stream<Path> jobs = Files.list(jobsDir)) {
            for (Path job : jobs.sorted().toList()) {
                if (!Files.exists(job.resolve("complete"))) {
                    enqueue(job.getFileName().toString());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + jobsDir, e);
        }
    }

    @Override
    public JobStatus submit(List<String> requestBodies) {
        if (requestBodies.isEmpty() || requestBodies.size() > MAX_REQUESTS) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                    "a job holds 1 to " + MAX_REQUESTS + " requests, got " + requestBodies.size(), "requests");
        }
        String id = REQUEST_ID_PREFIX + Long.toString(System.currentTimeMillis(), 36)
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try {
            PrivateFiles.directory(stateDir);
            PrivateFiles.directory(jobsDir);
            // a new temporary directory is owner-only
            Path staging = Files.createTempDirectory(jobsDir, ".new-");
            for (int i = 0; i < requestBodies.size(); i++) {
                PrivateFiles.write(staging.resolve("request-" + i + ".json"), requestBodies.get(i));
            }
            Files.move(staging, jobsDir.resolve(id), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store a job under " + jobsDir + "; choose another --state-dir", e);
        }
        if (runner != null) {
            enqueue(id);
        }
        return new JobStatus(id, "queued", requestBodies.size(), 0, List.of());
    }

    @Override
    public JobStatus status(String jobId) {
        Path job = jobsDir.resolve(jobId);
        if (!jobId.startsWith(REQUEST_ID_PREFIX) || jobId.contains("/") || !Files.isDirectory(job)) {
            throw new ServiceException(ServiceException.Kind.NOT_FOUND, "no job " + jobId, "id");
        }
        int total = count(job, "request-");
        int done = count(job, "result-");
        if (done < total) {
            return new JobStatus(jobId, done > 0 || started.contains(jobId) ? "running" : "queued", total, done, List.of());
        }
        List<String> results = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            results.add(read(job.resolve("result-" + i + ".json")));
        }
        return new JobStatus(jobId, "completed", total, done, results);
    }

    private void enqueue(String jobId) {
        Path job = jobsDir.resolve(jobId);
        int total = count(job, "request-");
        for (int i = 0; i < total; i++) {
            int index = i;
            pool.execute(() -> run(job, jobId, index));
        }
    }

    private void run(Path job, String jobId, int index) {
        Path result = job.resolve("result-" + index + ".json");
        if (Files.exists(result)) {
            return;
        }
        started.add(jobId);
        String body = runner.run(jobId + "-" + index, read(job.resolve("request-" + index + ".json")));
        try {
            PrivateFiles.write(result, body);
            if (count(job, "result-") == count(job, "request-")) {
                PrivateFiles.write(job.resolve("complete"), "");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store a result of " + jobId, e);
        }
    }

    private static int count(Path job, String prefix) {
        try (Stream<Path> files = Files.list(job)) {
            return (int) files.filter(p -> p.getFileName().toString().startsWith(prefix)).count();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read job directory " + job, e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
