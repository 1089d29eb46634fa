package xllm.sched.cluster;

/** The first byte of every document on a shared queue: what the rest of it holds. */
final class MessageKind {
    /** Router to worker: generate (emitted tokens empty) or resume (tokens already sent to the client). */
    static final byte SUBMIT = 1;
    /** Router to worker: stop a request. */
    static final byte ABORT = 2;
    /** Worker to router: one sampled token of a request at an output position. */
    static final byte TOKEN = 3;
    /** Worker to router: a request ended, with its usage. */
    static final byte FINISHED = 4;
    /** Worker to router: alive, with load and free KV blocks. */
    static final byte HEARTBEAT = 5;
    /** Router to worker: compute a prompt and its first token, then hand the KV on instead of decoding. */
    static final byte PREFILL = 6;
    /** Router to worker: resume a request whose prompt KV another worker computed, copying it from there. */
    static final byte SUBMIT_WITH_KV = 7;
    /** Router to worker: free the KV blocks a prefill-only request handed off. */
    static final byte RELEASE = 8;
    /** Router to worker: the serving path is warm; drop what its warm-up requests left and forget their metrics. */
    static final byte WARMED_UP = 9;
    /** Worker to router: a prefill-only request has its first token; its KV waits in these blocks. */
    static final byte HANDED_OFF = 20;
    /** Worker to router: a request's handed-off KV was copied (or given up on); the source may free it. */
    static final byte KV_RECEIVED = 21;
    /** Journal: a router incarnation began; request keys before it belong to an earlier one. */
    static final byte START = 10;
    /** Journal: a request was accepted. */
    static final byte ADMITTED = 11;
    /** Journal: a token was sent to the client. */
    static final byte PROGRESS = 12;
    /** Journal: a request ended for the client. */
    static final byte DONE = 13;

    private MessageKind() {
    }
}
