package xllm.sched;

import java.util.concurrent.CountDownLatch;
import xllm.api.GenerateRequest;
import xllm.api.TokenSink;
import xllm.engine.scheduler.KvHandoff;
import xllm.engine.scheduler.KvImport;

/** A preallocated ring entry carrying a submission, an abort, a handoff's release or the end of warm-up to an engine loop. */
final class IngressEvent {
    GenerateRequest request;
    TokenSink sink;
    int[] emitted;
    /** Non-null for a prefill-only submission. */
    KvHandoff handoff;
    /** Non-null for a submission whose prompt KV another instance computed. */
    KvImport kvImport;
    String abortId;
    /** Non-null to free the blocks a prefill-only request handed off. */
    String releaseId;
    long arrivalNanos;
    /** Set to tell the engine its warm-up is over. */
    /** Set for the end of warm-up: counted down once the engine has taken it. */
    CountDownLatch warmedUp;

    void clear() {
        request = null;
        sink = null;
        emitted = null;
        abortId = null;
        handoff = null;
        kvImport = null;
        releaseId = null;
        warmedUp = null;
    }
}
