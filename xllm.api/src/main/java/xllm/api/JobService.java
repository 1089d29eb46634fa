package xllm.api;

import java.util.List;

/**
 * Offline batch work: a job is a list of completion request bodies, run when capacity allows, whose
 * results outlive a restart of the server. The API layer turns one body into one response through a
 * {@link Runner}; the service keeps the jobs, runs them and stores what the runner returns. Thread-safe.
 */
public interface JobService {
    /** Every engine request of a job carries an id that starts with this and the job's id. */
    String REQUEST_ID_PREFIX = "job-";

    /**
     * Turns one request body of a job into its response body (a completion response, or an error object);
     * called on a job thread, and again after a restart for every request without a stored result.
     */
    interface Runner {
        /** @param requestId the id to submit the generation under; the same on every run of this request */
        String run(String requestId, String requestBody);
    }

    /** Starts running queued and unfinished jobs through {@code runner}; called once. */
    void start(Runner runner);

    /** Queues a job; throws {@link ServiceException} when it is empty or too large. */
    JobStatus submit(List<String> requestBodies);

    /** The job's state and, once completed, its results; throws {@link ServiceException} (404) for an unknown id. */
    JobStatus status(String jobId);
}
