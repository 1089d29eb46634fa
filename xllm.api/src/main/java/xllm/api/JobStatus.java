package xllm.api;

import java.util.List;

/**
 * Where a job stands.
 *
 * @param state "queued", "running" or "completed"
 * @param total requests in the job
 * @param done requests with a stored result
 * @param results one response body (JSON text) per request, in request order, once completed; else empty
 */
public record JobStatus(String id, String state, int total, int done, List<String> results) {
    public JobStatus {
        results = List.copyOf(results);
    }
}
