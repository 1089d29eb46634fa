package xllm.sched.cluster;

import net.openhft.chronicle.bytes.Bytes;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;
import xllm.api.Usage;
import xllm.sched.SpecDecodeCounts;
import xllm.sched.StepTimes;

/**
 * The layout of every message between the router and a worker, each one's writer beside its reader: one
 * document on a {@link SharedQueue}, a {@link MessageKind} byte and then the fields. Writers run on the
 * thread that sends (each has its own appender) and allocate nothing per token; readers hand what they
 * read to a {@link RouterMessages} or {@link WorkerMessages} on the reading thread. Stateless.
 */
final class MessageCodec {
    private static final byte NO_LOGPROBS = -1;
    private static final byte NO_CONSTRAINT = -1;
    /** Draft positions a heartbeat carries at most: the longest draft a speculative config allows. */
    private static final int MAX_SPEC_POSITIONS = 64;
    /** Step-time samples of each kind a heartbeat carries at most. */
    private static final int MAX_STEP_SAMPLES = 256;

    /** What a worker is told, as it reads its request queue. */
    interface RouterMessages {
        void submit(Submission submission);

        /** Compute the prompt and the first token only, then hand the KV on. */
        void prefill(Submission submission);

        /** Resume with the prompt's KV copied from {@code source}. */
        void submitWithKv(Submission submission, KvSource source);

        void abort(String requestId);

        /** Free the blocks that {@code requestId} handed off. */
        void release(String requestId);

        /** The router's serving path is warm: what its warm-up requests left here goes. */
        void warmedUp();
    }

    /** What the router is told, as it reads a worker's event queue. */
    interface WorkerMessages {
        /** @param logprobs null when not asked for; else valid only during the call */
        void token(long key, int position, int token, Logprobs logprobs);

        void finished(long key, FinishReason reason, Usage usage);

        void heartbeat(Heartbeat heartbeat);

        /** A prefill-only request's KV waits on the worker in {@code source}'s blocks. */
        void handedOff(long key, KvSource source);

        /**
         * A request's handed-off KV was imported from {@code sourceWorker}: {@code bytes} copied (-1: given up,
         * recomputing) in {@code nanos}; the source may free it.
         */
        void kvReceived(long key, int sourceWorker, long sourcePid, String requestId, long bytes, long nanos);
    }

    private MessageCodec() {
    }

    /** Reads one document of a request queue into {@code to}. */
    static void readRouterMessage(Bytes<?> in, RouterMessages to) {
        byte kind = in.readByte();
        if (kind == MessageKind.SUBMIT) {
            to.submit(readSubmission(in));
        } else if (kind == MessageKind.ABORT) {
            to.abort(readAbort(in));
        } else if (kind == MessageKind.PREFILL) {
            to.prefill(readSubmission(in));
        } else if (kind == MessageKind.SUBMIT_WITH_KV) {
            to.submitWithKv(readSubmission(in), readKvSource(in));
        } else if (kind == MessageKind.RELEASE) {
            to.release(readAbort(in));
        } else if (kind == MessageKind.WARMED_UP) {
            to.warmedUp();
        }
    }

    /** Reads one document of an event queue into {@code to}; {@code logprobs} is reused for each token. */
    static void readWorkerMessage(Bytes<?> in, Logprobs logprobs, WorkerMessages to) {
        byte kind = in.readByte();
        if (kind == MessageKind.TOKEN) {
            readToken(in, logprobs, to);
        } else if (kind == MessageKind.FINISHED) {
            readFinished(in, to);
        } else if (kind == MessageKind.HEARTBEAT) {
            to.heartbeat(readHeartbeat(in));
        } else if (kind == MessageKind.HANDED_OFF) {
            to.handedOff(in.readLong(), readKvSource(in));
        } else if (kind == MessageKind.KV_RECEIVED) {
            to.kvReceived(in.readLong(), in.readInt(), in.readLong(), in.readUtf8(), in.readLong(), in.readLong());
        }
    }

    // ---- router to worker ----

    static void writeSubmit(SharedQueue queue, long key, GenerateRequest request, int[] emitted) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.SUBMIT);
            writeSubmission(out, key, request, emitted);
        }
    }

    /** A fresh request that runs only to its first token, then hands its KV on. */
    static void writePrefill(SharedQueue queue, long key, GenerateRequest request) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.PREFILL);
            writeSubmission(out, key, request, new int[0]);
        }
    }

    static void writeSubmitWithKv(SharedQueue queue, long key, GenerateRequest request, int[] emitted, KvSource source) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.SUBMIT_WITH_KV);
            writeSubmission(out, key, request, emitted);
            writeKvSource(out, source);
        }
    }

    static void writeAbort(SharedQueue queue, long key, String requestId) {
        writeKeyed(queue, MessageKind.ABORT, key, requestId);
    }

    static void writeRelease(SharedQueue queue, long key, String requestId) {
        writeKeyed(queue, MessageKind.RELEASE, key, requestId);
    }

    static void writeWarmedUp(SharedQueue queue) {
        try (SharedQueue.Writing w = queue.writing()) {
            w.bytes().writeByte(MessageKind.WARMED_UP);
        }
    }

    private static void writeKeyed(SharedQueue queue, byte kind, long key, String requestId) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(kind);
            out.writeLong(key);
            out.writeUtf8(requestId);
        }
    }

    private static void writeKvSource(Bytes<?> out, KvSource source) {
        out.writeInt(source.worker());
        out.writeLong(source.pid());
        out.writeInt(source.tokens());
        writeInts(out, source.blocks());
    }

    private static KvSource readKvSource(Bytes<?> in) {
        return new KvSource(in.readInt(), in.readLong(), in.readInt(), readInts(in));
    }

    /** The request id; the router's key is skipped, as the engine knows requests by id. */
    private static String readAbort(Bytes<?> in) {
        in.readLong();
        return in.readUtf8();
    }

    /** A request with its key and resume point, after the kind byte; the journal records requests so too. */
    static void writeSubmission(Bytes<?> out, long key, GenerateRequest request, int[] emitted) {
        out.writeLong(key);
        out.writeUtf8(request.requestId());
        out.writeInt(request.priority());
        out.writeInt(request.topLogprobs());
        SamplingParams p = request.params();
        out.writeFloat(p.temperature());
        out.writeInt(p.topK());
        out.writeFloat(p.topP());
        out.writeFloat(p.minP());
        out.writeFloat(p.repetitionPenalty());
        out.writeFloat(p.presencePenalty());
        out.writeFloat(p.frequencyPenalty());
        out.writeLong(p.seed());
        out.writeInt(p.maxTokens());
        out.writeBoolean(p.ignoreEos());
        writeInts(out, p.stopTokenIds());
        out.writeInt(request.promptLength());
        for (int i = 0; i < request.promptLength(); i++) {
            out.writeInt(request.promptId(i));
        }
        writeInts(out, emitted);
        out.writeBoolean(request.offline());
        StructuredOutput constraint = request.structuredOutput();
        out.writeByte(constraint == null ? NO_CONSTRAINT : (byte) constraint.kind().ordinal());
        if (constraint != null) {
            out.writeUtf8(constraint.spec());
        }
    }

    static Submission readSubmission(Bytes<?> in) {
        long key = in.readLong();
        String id = in.readUtf8();
        int priority = in.readInt();
        int topLogprobs = in.readInt();
        SamplingParams params = SamplingParams.builder()
                .temperature(in.readFloat())
                .topK(in.readInt())
                .topP(in.readFloat())
                .minP(in.readFloat())
                .repetitionPenalty(in.readFloat())
                .presencePenalty(in.readFloat())
                .frequencyPenalty(in.readFloat())
                .seed(in.readLong())
                .maxTokens(in.readInt())
                .ignoreEos(in.readBoolean())
                .stopTokenIds(readInts(in))
                .build();
        int[] prompt = readInts(in);
        int[] emitted = readInts(in);
        // a journal written before requests carried the flag ends here
        boolean offline = in.readRemaining() > 0 && in.readBoolean();
        int kind = in.readRemaining() > 0 ? in.readByte() : NO_CONSTRAINT;
        StructuredOutput constraint = kind == NO_CONSTRAINT
                ? null
                : new StructuredOutput(StructuredOutput.Kind.values()[kind], in.readUtf8());
        return new Submission(key, new GenerateRequest(id, prompt, params, priority, topLogprobs, offline, constraint),
                emitted);
    }

    // ---- worker to router ----

    /** @param position the token's index in the request's output, so the router can tell a repeat */
    static void writeToken(SharedQueue queue, long key, int position, int token, Logprobs logprobs) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.TOKEN);
            out.writeLong(key);
            out.writeInt(position);
            out.writeInt(token);
            if (logprobs == null) {
                out.writeByte(NO_LOGPROBS);
                return;
            }
            out.writeByte((byte) logprobs.topCount());
            out.writeFloat(logprobs.sampledLogprob());
            for (int i = 0; i < logprobs.topCount(); i++) {
                out.writeInt(logprobs.topId(i));
                out.writeFloat(logprobs.topLogprob(i));
            }
        }
    }

    private static void readToken(Bytes<?> in, Logprobs logprobs, WorkerMessages to) {
        long key = in.readLong();
        int position = in.readInt();
        int token = in.readInt();
        int top = in.readByte();
        if (top == NO_LOGPROBS) {
            to.token(key, position, token, null);
            return;
        }
        logprobs.set(token, in.readFloat());
        for (int i = 0; i < top; i++) {
            logprobs.addTop(in.readInt(), in.readFloat());
        }
        to.token(key, position, token, logprobs);
    }

    static void writeFinished(SharedQueue queue, long key, FinishReason reason, Usage usage) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.FINISHED);
            out.writeLong(key);
            out.writeByte((byte) reason.ordinal());
            out.writeInt(usage.promptTokens());
            out.writeInt(usage.completionTokens());
            out.writeInt(usage.cachedPromptTokens());
        }
    }

    private static void readFinished(Bytes<?> in, WorkerMessages to) {
        long key = in.readLong();
        FinishReason reason = FinishReason.values()[in.readByte()];
        to.finished(key, reason, new Usage(in.readInt(), in.readInt(), in.readInt()));
    }

    static void writeHandedOff(SharedQueue queue, long key, KvSource source) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.HANDED_OFF);
            out.writeLong(key);
            writeKvSource(out, source);
        }
    }

    static void writeKvReceived(SharedQueue queue, long key, int sourceWorker, long sourcePid, String requestId, long bytes,
                                long nanos) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.KV_RECEIVED);
            out.writeLong(key);
            out.writeInt(sourceWorker);
            out.writeLong(sourcePid);
            out.writeUtf8(requestId);
            out.writeLong(bytes);
            out.writeLong(nanos);
        }
    }

    static void writeHeartbeat(SharedQueue queue, Heartbeat beat) {
        try (SharedQueue.Writing w = queue.writing()) {
            Bytes<?> out = w.bytes();
            out.writeByte(MessageKind.HEARTBEAT);
            out.writeLong(beat.pid());
            out.writeInt(beat.load());
            out.writeInt(beat.freeBlocks());
            out.writeInt(beat.totalBlocks());
            out.writeDouble(beat.kvUsage());
            SpecDecodeCounts spec = beat.spec();
            out.writeLong(spec.drafts());
            out.writeLong(spec.draftTokens());
            out.writeLong(spec.acceptedTokens());
            int positions = Math.min(spec.acceptedAtPosition().length, MAX_SPEC_POSITIONS);
            out.writeInt(positions);
            for (int i = 0; i < positions; i++) {
                out.writeLong(spec.acceptedAtPosition()[i]);
            }
            StepTimes.Taken steps = beat.steps();
            out.writeInt(steps.prefillTokens().length);
            for (int i = 0; i < steps.prefillTokens().length; i++) {
                out.writeInt(steps.prefillTokens()[i]);
                out.writeLong(steps.prefillNanos()[i]);
            }
            out.writeInt(steps.decodeBatch().length);
            for (int i = 0; i < steps.decodeBatch().length; i++) {
                out.writeInt(steps.decodeBatch()[i]);
                out.writeLong(steps.decodeContext()[i]);
                out.writeLong(steps.decodeNanos()[i]);
            }
            CacheChanges cache = beat.cache();
            int changes = Math.min(cache.size(), CacheChanges.MAX_PER_HEARTBEAT);
            out.writeInt(changes);
            for (int i = 0; i < changes; i++) {
                out.writeBoolean(cache.stored()[i]);
                out.writeLong(cache.keys()[i]);
            }
        }
    }

    private static Heartbeat readHeartbeat(Bytes<?> in) {
        long pid = in.readLong();
        int load = in.readInt();
        int freeBlocks = in.readInt();
        int totalBlocks = in.readInt();
        double kvUsage = in.readDouble();
        long drafts = in.readLong();
        long draftTokens = in.readLong();
        long accepted = in.readLong();
        long[] acceptedAt = new long[Math.min(in.readInt(), MAX_SPEC_POSITIONS)];
        for (int i = 0; i < acceptedAt.length; i++) {
            acceptedAt[i] = in.readLong();
        }
        SpecDecodeCounts spec = new SpecDecodeCounts(drafts, draftTokens, accepted, acceptedAt);
        int prefills = Math.min(in.readInt(), MAX_STEP_SAMPLES);
        int[] prefillTokens = new int[prefills];
        long[] prefillNanos = new long[prefills];
        for (int i = 0; i < prefills; i++) {
            prefillTokens[i] = in.readInt();
            prefillNanos[i] = in.readLong();
        }
        int decodes = Math.min(in.readInt(), MAX_STEP_SAMPLES);
        int[] batch = new int[decodes];
        long[] context = new long[decodes];
        long[] decodeNanos = new long[decodes];
        for (int i = 0; i < decodes; i++) {
            batch[i] = in.readInt();
            context[i] = in.readLong();
            decodeNanos[i] = in.readLong();
        }
        int changes = Math.min(in.readInt(), CacheChanges.MAX_PER_HEARTBEAT);
        long[] keys = new long[changes];
        boolean[] stored = new boolean[changes];
        for (int i = 0; i < changes; i++) {
            stored[i] = in.readBoolean();
            keys[i] = in.readLong();
        }
        return new Heartbeat(pid, load, freeBlocks, totalBlocks, kvUsage, spec,
                new StepTimes.Taken(prefillTokens, prefillNanos, batch, context, decodeNanos),
                changes == 0 ? CacheChanges.NONE : new CacheChanges(keys, stored));
    }

    private static void writeInts(Bytes<?> out, int[] values) {
        out.writeInt(values.length);
        for (int v : values) {
            out.writeInt(v);
        }
    }

    private static int[] readInts(Bytes<?> in) {
        int count = in.readInt();
        if (count < 0 || (long) count * Integer.BYTES > in.readRemaining()) {
            throw new IllegalArgumentException("a list of " + count + " ints does not fit in the " + in.readRemaining() + " bytes left");
        }
        int[] values = new int[count];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readInt();
        }
        return values;
    }
}
