package xllm.api;

import java.util.List;

/** The nodes behind a router, as operators see them. Thread-safe. */
public interface NodePool {
    List<NodeStatus> nodes();

    /** True while this router holds the duties that only one router may perform. */
    boolean master();
}
