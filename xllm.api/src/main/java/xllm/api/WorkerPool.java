package xllm.api;

import java.util.List;

/** The engine processes behind a router, as operators see them. Thread-safe. */
public interface WorkerPool {
    List<WorkerStatus> workers();
}
