package xllm.sched.cluster;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import org.agrona.collections.IntArrayList;
import xllm.api.GenerateRequest;

/**
 * The router's write-ahead record of its requests, a Chronicle queue in the shared-memory directory: each
 * accepted request, each token sent to its client, and its end. After the router dies, the next one reads
 * it back to learn which accepted requests were unfinished and how far they got. Written from request
 * threads and event threads (Chronicle serialises them); {@link #recover} runs once, at start. A
 * request is recorded as the router sends it to a worker ({@link MessageCodec#writeSubmission}).
 */
final class Journal implements AutoCloseable {
    private static final int[] NO_TOKENS = new int[0];

    private final SharedQueue queue;

    private Journal(SharedQueue queue) {
        this.queue = queue;
    }

    static Journal open(Path dir) {
        return new Journal(SharedQueue.open(dir));
    }

    /**
     * Replays the journal: the unfinished requests by request id, with the tokens their clients got. Then
     * marks the start of this router's incarnation, after which request keys begin anew.
     */
    Map<String, RecoveredRequest> recover() {
        Map<Long, String> idOfKey = new HashMap<>();
        Map<String, GenerateRequest> requests = new LinkedHashMap<>();
        Map<String, Boolean> offline = new HashMap<>();
        Map<String, IntArrayList> tokens = new HashMap<>();
        ExcerptTailer tailer = queue.tailer();
        boolean more = true;
        while (more) {
            more = SharedQueue.readNext(tailer, in -> {
                byte kind = in.readByte();
                if (kind == MessageKind.START) {
                    idOfKey.clear();
                } else if (kind == MessageKind.ADMITTED) {
                    boolean isOffline = in.readBoolean();
                    Submission s = MessageCodec.readSubmission(in);
                    String id = s.request().requestId();
                    idOfKey.put(s.key(), id);
                    if (requests.putIfAbsent(id, s.request()) == null) {
                        offline.put(id, isOffline);
                        tokens.put(id, new IntArrayList());
                    }
                } else if (kind == MessageKind.PROGRESS) {
                    String id = idOfKey.get(in.readLong());
                    int token = in.readInt();
                    if (id != null && tokens.containsKey(id)) {
                        tokens.get(id).addInt(token);
                    }
                } else if (kind == MessageKind.DONE) {
                    String id = idOfKey.remove(in.readLong());
                    if (id != null) {
                        requests.remove(id);
                        tokens.remove(id);
                    }
                }
            });
        }
        try (SharedQueue.Writing w = queue.writing()) {
            w.bytes().writeByte(MessageKind.START);
        }
        Map<String, RecoveredRequest> open = new LinkedHashMap<>();
        requests.forEach((id, r) -> open.put(id, new RecoveredRequest(r, offline.get(id), tokens.get(id).toIntArray())));
        return open;
    }

    void admitted(long key, GenerateRequest request, boolean offline) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.ADMITTED);
            out.writeBoolean(offline);
            MessageCodec.writeSubmission(out, key, request, NO_TOKENS);
        }
    }

    void progress(long key, int token) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.PROGRESS);
            out.writeLong(key);
            out.writeInt(token);
        }
    }

    void done(long key) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.DONE);
            out.writeLong(key);
        }
    }

    @Override
    public void close() {
        queue.close();
    }
}
