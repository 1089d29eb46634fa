package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.openhft.chronicle.bytes.Bytes;
import org.junit.jupiter.api.Test;
import xllm.api.GenerateRequest;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;

/** A submission reaches a worker (and the journal) as it was sent: whether it is offline work included. */
class SubmissionCodecTest {
    private static final SamplingParams PARAMS = SamplingParams.builder().temperature(0.5f).seed(7).maxTokens(9).build();

    /** @param droppedBytes bytes cut from the end: an entry written before requests carried those fields */
    private static Submission roundTrip(GenerateRequest request, int droppedBytes) {
        Bytes<?> bytes = Bytes.allocateElasticOnHeap();
        MessageCodec.writeSubmission(bytes, 42, request, new int[] {5, 6});
        bytes.writePosition(bytes.writePosition() - droppedBytes);
        return MessageCodec.readSubmission(bytes);
    }

    @Test
    void offlineFlagCrossesProcesses() {
        GenerateRequest offline = new GenerateRequest("job-a-0", new int[] {1, 2, 3}, PARAMS, 1000, -1, true);
        Submission s = roundTrip(offline, 0);
        assertTrue(s.request().offline());
        assertEquals(42, s.key());
        assertEquals(1000, s.request().priority());
        assertArrayEquals(new int[] {1, 2, 3}, s.request().promptIds());
        assertArrayEquals(new int[] {5, 6}, s.emitted());
        assertFalse(roundTrip(new GenerateRequest("r", new int[] {1}, PARAMS, 0, -1), 0).request().offline());
    }

    @Test
    void journalEntryWrittenBeforeTheFlagReadsAsOnline() {
        // the offline flag and the constraint's (absent) kind byte came later
        Submission s = roundTrip(new GenerateRequest("old", new int[] {4}, PARAMS, 0, -1, true), 2);
        assertFalse(s.request().offline());
        assertNull(s.request().structuredOutput());
        assertArrayEquals(new int[] {5, 6}, s.emitted());
    }

    @Test
    void constraintCrossesProcesses() {
        StructuredOutput schema = new StructuredOutput(StructuredOutput.Kind.JSON_SCHEMA, "{\"type\":\"object\",\"title\":\"é\"}");
        GenerateRequest request = new GenerateRequest("c", new int[] {1}, PARAMS, 0, -1, true).withStructuredOutput(schema);
        Submission s = roundTrip(request, 0);
        assertEquals(schema, s.request().structuredOutput());
        assertTrue(s.request().offline());
        assertNull(roundTrip(new GenerateRequest("r", new int[] {1}, PARAMS, 0, -1), 0).request().structuredOutput());
        Submission beforeConstraints = roundTrip(new GenerateRequest("old", new int[] {4}, PARAMS, 0, -1, true), 1);
        assertTrue(beforeConstraints.request().offline());
        assertNull(beforeConstraints.request().structuredOutput());
    }
}
