package xllm.engine.scheduler;

/** Where a sequence is in its engine instance. */
enum SequenceStatus {
    /** Queued: new, or preempted and to be recomputed from its tokens so far. */
    WAITING,
    /** Holds KV blocks and is scheduled every step until it finishes or is preempted. */
    RUNNING,
    /** Ended (stop, length or abort); its blocks are released. */
    FINISHED
}
