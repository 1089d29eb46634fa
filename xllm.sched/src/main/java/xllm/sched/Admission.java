package xllm.sched;

import xllm.api.GenerateRequest;
import xllm.api.ServiceException;

/**
 * The limits a request must fit before it is queued: KV cache for its whole length, and room in the
 * queue. Shared by the one-process service and the router so that both refuse alike. Stateless; any
 * thread may call it.
 */
public final class Admission {
    private Admission() {
    }

    /**
     * Refuses a request whose prompt plus {@code max_tokens} needs more than {@code totalBlocks} KV blocks.
     *
     * @param holder what holds those blocks, as the message names it ("the server", "a worker")
     */
    public static void requireKvCapacity(GenerateRequest request, int totalBlocks, int blockSize, String holder) {
        int tokens = request.promptLength() + request.params().maxTokens();
        if ((tokens + blockSize - 1) / blockSize > totalBlocks) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, "request needs " + tokens
                    + " tokens of KV cache but " + holder + " holds only " + totalBlocks * blockSize
                    + "; reduce max_tokens or start the server with a larger --kv-cache-mb", "max_tokens");
        }
    }

    /**
     * Refuses a request when {@code queued} requests, this one counted, exceed {@code capacity}.
     *
     * @param detail said after "full" in the message, e.g. " (8 waiting)"; may be empty
     */
    public static void requireQueueRoom(int queued, int capacity, String detail) {
        if (queued > capacity) {
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the server's request queue is full" + detail
                    + "; retry later", null);
        }
    }
}
