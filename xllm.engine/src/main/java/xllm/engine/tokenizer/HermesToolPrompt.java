package xllm.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import xllm.api.ChatMessage;
import xllm.api.ToolCall;

/**
 * Tools for a chat template that does not take them: the conversation rewritten as Qwen's template would put
 * it, in turns any template renders. The tools go into the system turn in Qwen's words (after the user's own
 * system text), an assistant's calls into its text as {@code <tool_call>} blocks, and tool results into a user
 * turn of {@code <tool_response>} blocks, which is the Hermes form the tool-call parser reads back. Stateless.
 */
final class HermesToolPrompt {
    private static final String TOOLS_HEAD = "# Tools\n\nYou may call one or more functions to assist with the user"
            + " query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    private static final String TOOLS_TAIL = "\n</tools>\n\nFor each function call, return a json object with"
            + " function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\":"
            + " <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    private HermesToolPrompt() {
    }

    /** The conversation with {@code tools} (parsed tool objects) and every tool turn spelled as text. */
    static List<ChatMessage> inline(List<ChatMessage> messages, List<Object> tools) {
        List<ChatMessage> result = new ArrayList<>();
        int start = 0;
        if (!tools.isEmpty()) {
            StringBuilder system = new StringBuilder();
            if (!messages.isEmpty() && messages.getFirst().role().equals("system")) {
                system.append(messages.getFirst().content()).append("\n\n");
                start = 1;
            }
            system.append(TOOLS_HEAD);
            for (Object tool : tools) {
                system.append('\n').append(PythonJson.dumps(tool, null, false));
            }
            result.add(new ChatMessage("system", system.append(TOOLS_TAIL).toString()));
        }
        for (int i = start; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m.role().equals("tool")) {
                StringBuilder responses = new StringBuilder(response(m));
                while (i + 1 < messages.size() && messages.get(i + 1).role().equals("tool")) {
                    responses.append('\n').append(response(messages.get(++i)));
                }
                result.add(new ChatMessage("user", responses.toString()));
            } else if (!m.toolCalls().isEmpty()) {
                result.add(new ChatMessage(m.role(), withCalls(m)));
            } else {
                result.add(new ChatMessage(m.role(), m.content()));
            }
        }
        return result;
    }

    private static String response(ChatMessage tool) {
        return "<tool_response>\n" + tool.content() + "\n</tool_response>";
    }

    private static String withCalls(ChatMessage assistant) {
        StringBuilder text = new StringBuilder(assistant.content());
        for (ToolCall call : assistant.toolCalls()) {
            if (!text.isEmpty()) {
                text.append('\n');
            }
            text.append("<tool_call>\n{\"name\": \"").append(call.name()).append("\", \"arguments\": ")
                    .append(PythonJson.dumps(ChatTemplate.parseJson(call.arguments(), "tool call arguments"), null, false))
                    .append("}\n</tool_call>");
        }
        return text.toString();
    }
}
