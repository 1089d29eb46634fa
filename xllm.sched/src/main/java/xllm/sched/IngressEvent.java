package xllm.sched;

import xllm.api.GenerateRequest;
import xllm.api.TokenSink;

/** A preallocated ring entry carrying a submission or an abort to an engine loop. */
final class IngressEvent {
    GenerateRequest request;
    TokenSink sink;
    int[] emitted;
    String abortId;
    long arrivalNanos;

    void clear() {
        request = null;
        sink = null;
        emitted = null;
        abortId = null;
    }
}
