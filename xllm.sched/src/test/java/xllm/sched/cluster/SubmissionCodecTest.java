package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.openhft.chronicle.bytes.Bytes;
import org.junit.jupiter.api.Test;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;

/** A submission reaches a worker (and the journal) as it was sent: whether it is offline work included. */
class SubmissionCodecTest {
    private static final SamplingParams PARAMS = SamplingParams.builder().temperature(0.5f).seed(7).maxTokens(9).build();

    private static Submission roundTrip(GenerateRequest request, boolean dropLastByte) {
        Bytes<?> bytes = Bytes.allocateElasticOnHeap();
        MessageCodec.writeSubmission(bytes, 42, request, new int[] {5, 6});
        if (dropLastByte) {
            bytes.writePosition(bytes.writePosition() - 1);
        }
        return MessageCodec.readSubmission(bytes);
    }

    @Test
    void offlineFlagCrossesProcesses() {
        GenerateRequest offline = new GenerateRequest("job-a-0", new int[] {1, 2, 3}, PARAMS, 1000, -1, true);
        Submission s = roundTrip(offline, false);
        assertTrue(s.request().offline());
        assertEquals(42, s.key());
        assertEquals(1000, s.request().priority());
        assertArrayEquals(new int[] {1, 2, 3}, s.request().promptIds());
        assertArrayEquals(new int[] {5, 6}, s.emitted());
        assertFalse(roundTrip(new GenerateRequest("r", new int[] {1}, PARAMS, 0, -1), false).request().offline());
    }

    @Test
    void journalEntryWrittenBeforeTheFlagReadsAsOnline() {
        Submission s = roundTrip(new GenerateRequest("old", new int[] {4}, PARAMS, 0, -1, true), true);
        assertFalse(s.request().offline());
        assertArrayEquals(new int[] {5, 6}, s.emitted());
    }
}
