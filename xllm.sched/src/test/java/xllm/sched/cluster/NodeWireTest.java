package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.SamplingParams;
import xllm.api.StructuredOutput;
import xllm.api.Usage;

/** What a router and a node say to each other arrives whole, and a stream cut short or garbled is told apart. */
class NodeWireTest {
    private static final SamplingParams PARAMS = SamplingParams.builder().temperature(0.7f).topP(0.9f).seed(11).maxTokens(20).build();

    @Test
    void aRequestCrossesWithItsResumePoint() {
        GenerateRequest request = new GenerateRequest("cmpl-1@3", new int[] {1, 2, 3, 4}, PARAMS, 5, 2, false)
                .withStructuredOutput(new StructuredOutput(StructuredOutput.Kind.REGEX, "[a-z]+"));
        NodeWire.Request back = NodeWire.decodeRequest(NodeWire.encodeRequest(request, new int[] {9, 8}));
        assertEquals("cmpl-1@3", back.request().requestId());
        assertArrayEquals(new int[] {1, 2, 3, 4}, back.request().promptIds());
        assertArrayEquals(new int[] {9, 8}, back.emitted());
        assertEquals(0.7f, back.request().params().temperature());
        assertEquals(0.9f, back.request().params().topP());
        assertEquals(11, back.request().params().seed());
        assertEquals(20, back.request().params().maxTokens());
        assertEquals(2, back.request().topLogprobs());
        assertEquals(request.structuredOutput(), back.request().structuredOutput());
    }

    @Test
    void malformedRequestsAreRefusedByName() {
        byte[] good = NodeWire.encodeRequest(new GenerateRequest("r", new int[] {1, 2}, PARAMS, 0, -1), new int[0]);
        assertThrows(IllegalArgumentException.class, () -> NodeWire.decodeRequest(Arrays.copyOf(good, good.length - 3)));
        assertThrows(IllegalArgumentException.class, () -> NodeWire.decodeRequest(Arrays.copyOf(good, good.length + 4)));
        assertThrows(IllegalArgumentException.class, () -> NodeWire.decodeRequest(new byte[0]));
        // a prompt length far beyond the body must not be allocated
        byte[] huge = good.clone();
        int promptCountAt = indexOfPromptCount(good);
        ByteBuffer.wrap(huge).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(promptCountAt, Integer.MAX_VALUE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NodeWire.decodeRequest(huge));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void framesArriveInOrderWithTheirLogprobs() throws IOException {
        Logprobs lp = new Logprobs();
        lp.set(7, -0.5f);
        lp.addTop(7, -0.5f);
        lp.addTop(3, -1.25f);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(NodeWire.tokenFrame(4, 7, lp));
        out.write(NodeWire.tokenFrame(5, 12, null));
        out.write(NodeWire.finishFrame(FinishReason.LENGTH, new Usage(10, 6, 8)));
        List<String> seen = new ArrayList<>();
        boolean ended = NodeWire.read(new DataInputStream(new ByteArrayInputStream(out.toByteArray())), new Logprobs(), frames(seen));
        assertTrue(ended);
        assertEquals(List.of("4:7 -0.5 [7 -0.5, 3 -1.25]", "5:12", "LENGTH 10/6/8"), seen);
    }

    @Test
    void aStreamCutShortIsNotAnEnd() throws IOException {
        byte[] token = NodeWire.tokenFrame(0, 7, null);
        byte[] finish = NodeWire.finishFrame(FinishReason.STOP, new Usage(1, 1, 0));
        List<String> seen = new ArrayList<>();
        // cut between frames: the node went away
        assertFalse(NodeWire.read(new DataInputStream(new ByteArrayInputStream(token)), new Logprobs(), frames(seen)));
        assertEquals(List.of("0:7"), seen);
        // cut inside a frame
        byte[] both = ByteBuffer.allocate(token.length + finish.length - 2).put(token).put(finish, 0, finish.length - 2).array();
        assertThrows(EOFException.class, () -> NodeWire.read(new DataInputStream(new ByteArrayInputStream(both)), new Logprobs(), frames(seen)));
    }

    @Test
    void garbledFramesAreRefused() {
        byte[] tooManyTops = ByteBuffer.allocate(10).put((byte) 1).putInt(0).putInt(7).put((byte) 100).array();
        assertThrows(IOException.class, () -> NodeWire.read(new DataInputStream(new ByteArrayInputStream(tooManyTops)), new Logprobs(),
                frames(new ArrayList<>())));
        assertThrows(IOException.class, () -> NodeWire.read(new DataInputStream(new ByteArrayInputStream(new byte[] {42})), new Logprobs(),
                frames(new ArrayList<>())));
        byte[] badReason = ByteBuffer.allocate(14).put((byte) 2).put((byte) 99).array();
        assertThrows(IOException.class, () -> NodeWire.read(new DataInputStream(new ByteArrayInputStream(badReason)), new Logprobs(),
                frames(new ArrayList<>())));
    }

    private static NodeWire.Frames frames(List<String> seen) {
        return new NodeWire.Frames() {
            @Override
            public void token(int position, int token, Logprobs logprobs) {
                if (logprobs == null) {
                    seen.add(position + ":" + token);
                    return;
                }
                StringBuilder b = new StringBuilder(position + ":" + token + " " + logprobs.sampledLogprob() + " [");
                for (int i = 0; i < logprobs.topCount(); i++) {
                    b.append(i == 0 ? "" : ", ").append(logprobs.topId(i)).append(' ').append(logprobs.topLogprob(i));
                }
                seen.add(b.append(']').toString());
            }

            @Override
            public void finished(FinishReason reason, Usage usage) {
                seen.add(reason + " " + usage.promptTokens() + "/" + usage.completionTokens() + "/" + usage.cachedPromptTokens());
            }
        };
    }

    /** Where the prompt's length sits in an encoded request of id "r": after key, id, and the sampling fields. */
    private static int indexOfPromptCount(byte[] encoded) {
        // key 8, id (stop-bit length 1 + 1 char), priority 4, top logprobs 4, 7 sampling numbers (6 floats/ints + seed 8 + max 4),
        // ignore_eos 1, stop ids (count 4)
        return 8 + 2 + 4 + 4 + (4 + 4 + 4 + 4 + 4 + 4 + 4) + 8 + 4 + 1 + 4;
    }
}
