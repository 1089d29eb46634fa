package xllm.sched.cluster;

import net.openhft.chronicle.bytes.Bytes;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;

/**
 * A request as it crosses to a worker and into the journal: the router's key for it, the request, and
 * the output tokens the client already has (empty for a fresh request, the resume point otherwise).
 */
record Submission(long key, GenerateRequest request, int[] emitted) {
    /** Writes the fields after the kind byte. */
    static void write(Bytes<?> out, long key, GenerateRequest request, int[] emitted) {
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
    }

    static Submission read(Bytes<?> in) {
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
        return new Submission(key, new GenerateRequest(id, prompt, params, priority, topLogprobs), emitted);
    }

    private static void writeInts(Bytes<?> out, int[] values) {
        out.writeInt(values.length);
        for (int v : values) {
            out.writeInt(v);
        }
    }

    private static int[] readInts(Bytes<?> in) {
        int[] values = new int[in.readInt()];
        for (int i = 0; i < values.length; i++) {
            values[i] = in.readInt();
        }
        return values;
    }
}
