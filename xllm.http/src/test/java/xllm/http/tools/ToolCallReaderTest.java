package xllm.http.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import xllm.api.ToolCall;

class ToolCallReaderTest {
    private static final String PARIS = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
            + " \"days\": 2}}\n</tool_call>";
    private static final String TRICKY = "<tool_call>\n{\"name\": \"note\", \"arguments\": {\"text\": \"a } b { \\\" c"
            + " </tool_call> <tool_call>\", \"tags\": [\"x\", {\"y\": []}]}}\n</tool_call>";

    @Test
    void callsBecomeToolCallsAndTheTextBeforeThemContent() {
        ToolCallOutput output = ToolCallReader.read("Let me check.\n\n" + PARIS + "\n" + TRICKY + "\n");
        assertEquals("Let me check.", output.content());
        assertEquals(2, output.calls().size());
        ToolCall first = output.calls().get(0);
        assertEquals("get_weather", first.name());
        assertEquals("{\"city\": \"Paris\", \"days\": 2}", first.arguments());
        assertTrue(first.id().matches("call_[0-9a-f]{24}"), first.id());
        assertEquals("note", output.calls().get(1).name());
        assertEquals("{\"text\": \"a } b { \\\" c </tool_call> <tool_call>\", \"tags\": [\"x\", {\"y\": []}]}",
                output.calls().get(1).arguments());
        assertFalse(first.id().equals(output.calls().get(1).id()));
    }

    @Test
    void outputOfOnlyCallsHasNoContent() {
        ToolCallOutput output = ToolCallReader.read(PARIS);
        assertNull(output.content());
        assertEquals(1, output.calls().size());
    }

    @Test
    void textWithoutCallsIsAllContent() {
        String text = "def f(x):\n    return x < 2  # <tool not a call\n";
        assertEquals(new ToolCallOutput(text, List.of()), ToolCallReader.read(text));
        assertEquals(new ToolCallOutput(null, List.of()), ToolCallReader.read(""));
    }

    @Test
    void aLastCallWithoutItsClosingTagCounts() {
        ToolCallOutput output = ToolCallReader.read("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n");
        assertEquals(List.of("{}"), output.calls().stream().map(ToolCall::arguments).toList());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}\n</tool_call>",
        "<tool_call>\n{\"arguments\": {}, \"name\": \"f\"}\n</tool_call>",
        "<tool_call>\n{\"name\": f, \"arguments\": {}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{}\"}\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}} trailing\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1, }}\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": ",
        "Sure: <tool_call>\n{\"name\": \"f\"",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n<tool_call>{oops}</tool_call>",
    })
    void aMalformedCallLeavesTheWholeTextAsContent(String text) {
        assertEquals(new ToolCallOutput(text, List.of()), ToolCallReader.read(text));
    }

    /** However the text is cut into pieces, the stream adds up to what the whole text reads as. */
    @ParameterizedTest
    @ValueSource(strings = {
        "Let me check.\n\n" + PARIS + "\n" + TRICKY + "\n",
        PARIS,
        "plain text < with <tool a tag's start and trailing space  ",
        "Sure: <tool_call>\n{\"name\": \"f\"",
        "<tool_call>\n{\"arguments\": {}, \"name\": \"f\"}\n</tool_call>",
        "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n",
        "é ünïcode\t\n<tool_call> {\"name\":\"g\",\"arguments\":{\"q\":\"ß\"}} </tool_call>",
    })
    void streamedPiecesAddUpToTheWholeAtEveryCut(String text) {
        ToolCallOutput whole = ToolCallReader.read(text);
        for (int cut = 0; cut <= text.length(); cut++) {
            Streamed streamed = stream(List.of(text.substring(0, cut), text.substring(cut)));
            assertStreamAgrees(whole, streamed, text, "cut at " + cut);
        }
        List<String> characters = new ArrayList<>();
        text.codePoints().forEach(cp -> characters.add(Character.toString(cp)));
        assertStreamAgrees(whole, stream(characters), text, "one character at a time");
    }

    @Test
    void aStreamHoldsBackWhatMayStartACall() {
        ToolCallReader reader = new ToolCallReader();
        List<ToolCallDelta> deltas = new ArrayList<>();
        assertEquals("Checking", reader.accept("Checking \n<tool", deltas));
        assertEquals("", reader.accept("_call>\n{\"name\": \"get_weather\", \"argu", deltas));
        assertTrue(deltas.isEmpty(), "no call before its name is known");
        assertEquals("", reader.accept("ments\": {\"ci", deltas));
        assertEquals(2, deltas.size());
        assertEquals("get_weather", deltas.get(0).name());
        assertEquals("", deltas.get(0).arguments());
        assertEquals(new ToolCallDelta(0, null, null, "{\"ci"), deltas.get(1));
        assertTrue(reader.calledAny());
        assertEquals("", reader.accept("ty\": \"Paris\"}}\n</tool_call>", deltas));
        assertEquals("ty\": \"Paris\"}", deltas.get(2).arguments());
        assertEquals("", reader.finish(deltas));
        assertEquals("Checking", reader.output().content());
    }

    @Test
    void aTagStartThatIsNotATagIsShownOnceItIsNot() {
        ToolCallReader reader = new ToolCallReader();
        List<ToolCallDelta> deltas = new ArrayList<>();
        assertEquals("if a", reader.accept("if a <tool", deltas));
        assertEquals(" <toolbox> b", reader.accept("box> b", deltas));
        assertFalse(reader.calledAny());
    }

    private record Streamed(String content, List<ToolCallDelta> deltas) {
    }

    private static Streamed stream(List<String> pieces) {
        ToolCallReader reader = new ToolCallReader();
        StringBuilder content = new StringBuilder();
        List<ToolCallDelta> deltas = new ArrayList<>();
        for (String piece : pieces) {
            content.append(reader.accept(piece, deltas));
        }
        content.append(reader.finish(deltas));
        assertEquals(reader.output(), new ToolCallOutput(reader.output().content(), reader.output().calls()));
        return new Streamed(content.toString(), deltas);
    }

    private static void assertStreamAgrees(ToolCallOutput whole, Streamed streamed, String text, String how) {
        if (whole.calls().isEmpty()) {
            assertEquals(text, streamed.content(), how);
            return;
        }
        assertEquals(whole.content() == null ? "" : whole.content(), streamed.content(), how);
        for (int i = 0; i < whole.calls().size(); i++) {
            int index = i;
            List<ToolCallDelta> ofCall = streamed.deltas().stream().filter(d -> d.index() == index).toList();
            assertTrue(ofCall.getFirst().starts(), how + ": a call starts with its name");
            assertEquals(whole.calls().get(i).name(), ofCall.getFirst().name(), how);
            assertEquals(1, ofCall.stream().filter(ToolCallDelta::starts).count(), how);
            StringBuilder arguments = new StringBuilder();
            ofCall.forEach(d -> arguments.append(d.arguments()));
            assertEquals(whole.calls().get(i).arguments(), arguments.toString(), how);
        }
    }
}
