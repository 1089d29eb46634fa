package xllm.api;

import java.io.IOException;
import java.io.OutputStream;

/**
 * How a router on another machine runs generations on this node: one encoded request in, its tokens out as
 * a stream of frames, written and flushed as they are sampled. The encoding belongs to the implementation
 * (the router and the node run the same one). Thread-safe.
 */
public interface GenerationChannel {
    /**
     * Decodes and queues the request encoded in {@code request}; throws {@link ServiceException} when it is
     * malformed or refused, before anything is streamed.
     */
    Run open(byte[] request);

    /** One queued request. */
    interface Run {
        /**
         * Writes the request's frames to {@code out} until it ends; blocks until then. A failed write (the
         * router went away) aborts the request.
         */
        void writeTo(OutputStream out) throws IOException;
    }
}
