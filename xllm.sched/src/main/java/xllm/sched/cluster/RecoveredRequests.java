package xllm.sched.cluster;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The job requests an earlier router accepted and did not finish, read back from its journal at start,
 * each waiting for the job runner to submit it again; interactive ones are dropped, their clients are
 * gone. Thread-safe: request threads claim them.
 */
final class RecoveredRequests {
    private final Map<String, RecoveredRequest> waiting = new ConcurrentHashMap<>();

    private RecoveredRequests() {
    }

    /** Replays {@code journal}, which then starts this router's incarnation. */
    static RecoveredRequests replay(Journal journal) {
        RecoveredRequests recovered = new RecoveredRequests();
        int dropped = 0;
        for (Map.Entry<String, RecoveredRequest> e : journal.recover().entrySet()) {
            if (e.getValue().offline()) {
                recovered.waiting.put(e.getKey(), e.getValue());
            } else {
                dropped++;
            }
        }
        if (!recovered.waiting.isEmpty() || dropped > 0) {
            System.err.println("xllm: journal: " + recovered.waiting.size() + " unfinished job requests to resume, "
                    + dropped + " interrupted streams dropped");
        }
        return recovered;
    }

    /** The earlier router's request under {@code requestId}, taken so that it resumes once; or null. */
    RecoveredRequest claim(String requestId) {
        return waiting.remove(requestId);
    }
}
