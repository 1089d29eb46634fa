package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import xllm.api.FinishReason;
import xllm.api.InferenceService;
import xllm.api.ToolCall;
import xllm.http.generate.Choice;
import xllm.http.generate.ChoiceStep;
import xllm.http.request.GenerationSpec;
import xllm.http.request.Prompt;
import xllm.http.request.Prompts;
import xllm.http.request.RequestFields;
import xllm.http.response.Json;
import xllm.http.response.LogprobsJson;
import xllm.http.tools.ToolCallDelta;
import xllm.http.tools.ToolCallOutput;

/**
 * The chat completions API: {@code messages} (and tools) through the chat template in, assistant messages
 * (with the tool calls read from the output) out.
 */
final class ChatApi implements GenerationApi {
    private static final String ROLE = "assistant";
    /** The finish reason of a choice that ended normally after calling tools. */
    private static final String TOOL_CALLS = "tool_calls";

    @Override
    public boolean chat() {
        return true;
    }

    @Override
    public String idPrefix() {
        return "chatcmpl-";
    }

    @Override
    public String inputField() {
        return "messages";
    }

    @Override
    public String responseObject() {
        return "chat.completion";
    }

    @Override
    public String chunkObject() {
        return "chat.completion.chunk";
    }

    @Override
    public List<Prompt> prompts(RequestFields f, GenerationSpec spec, InferenceService service) {
        return List.of(Prompts.chat(f, spec.tools(), service));
    }

    /** The first chunk of each choice names the role, as OpenAI's streams do. */
    @Override
    public ObjectNode openingChoice(Choice choice, GenerationSpec spec) {
        ObjectNode delta = Json.object();
        delta.put("role", ROLE);
        delta.put("content", "");
        return entry(choice.index(), "delta", delta, null, null);
    }

    /**
     * Content first, then one chunk per tool-call delta, as OpenAI streams calls: the call's id and name with
     * empty arguments, then the arguments piece by piece. The last chunk carries the finish reason.
     */
    @Override
    public List<ObjectNode> stepChoices(ChoiceStep step, GenerationSpec spec, InferenceService service) {
        boolean logprobs = spec.topLogprobs() >= 0 && step.toToken() > step.fromToken();
        int index = step.choice().index();
        List<ObjectNode> entries = new ArrayList<>();
        if (!step.text().isEmpty() || logprobs) {
            ObjectNode delta = Json.object();
            if (!step.text().isEmpty()) {
                delta.put("content", step.text());
            }
            ObjectNode lp = logprobs
                    ? LogprobsJson.chat(step.choice().log(), step.fromToken(), step.toToken(), service)
                    : null;
            entries.add(entry(index, "delta", delta, lp, null));
        }
        for (ToolCallDelta call : step.toolCalls()) {
            ObjectNode delta = Json.object();
            delta.putArray("tool_calls").add(toolCallDelta(call));
            entries.add(entry(index, "delta", delta, null, null));
        }
        if (step.finish() != null) {
            if (entries.isEmpty()) {
                entries.add(entry(index, "delta", Json.object(), null, null));
            }
            boolean called = step.choice().toolCalls() != null && step.choice().toolCalls().calledAny();
            entries.getLast().put("finish_reason", finishReason(step.finish(), called));
        }
        return entries;
    }

    @Override
    public ObjectNode finalChoice(Choice choice, GenerationSpec spec, InferenceService service) {
        ObjectNode message = Json.object();
        message.put("role", ROLE);
        boolean called = false;
        if (choice.toolCalls() == null) {
            message.put("content", choice.text());
        } else {
            ToolCallOutput output = choice.toolCalls().output();
            message.put("content", output.content());
            if (!output.calls().isEmpty()) {
                ArrayNode calls = message.putArray("tool_calls");
                for (ToolCall call : output.calls()) {
                    calls.add(toolCall(call));
                }
                called = true;
            }
        }
        ObjectNode lp = spec.topLogprobs() >= 0
                ? LogprobsJson.chat(choice.log(), 0, choice.completionTokens(), service)
                : null;
        ObjectNode entry = entry(choice.index(), "message", message, lp, null);
        entry.put("finish_reason", finishReason(choice.finishReason(), called));
        return entry;
    }

    /** "tool_calls" when the model called tools and stopped by itself; a cut-off call keeps "length". */
    private static String finishReason(FinishReason finish, boolean called) {
        if (finish == null) {
            return null;
        }
        return called && finish == FinishReason.STOP ? TOOL_CALLS : finish.wireName();
    }

    private static ObjectNode toolCall(ToolCall call) {
        ObjectNode json = Json.object();
        json.put("id", call.id());
        json.put("type", "function");
        ObjectNode function = json.putObject("function");
        function.put("name", call.name());
        function.put("arguments", call.arguments());
        return json;
    }

    private static ObjectNode toolCallDelta(ToolCallDelta call) {
        ObjectNode json = Json.object();
        json.put("index", call.index());
        if (call.starts()) {
            json.put("id", call.id());
            json.put("type", "function");
        }
        ObjectNode function = json.putObject("function");
        if (call.starts()) {
            function.put("name", call.name());
        }
        function.put("arguments", call.arguments());
        return json;
    }

    private static ObjectNode entry(int index, String field, ObjectNode message, ObjectNode logprobs,
            FinishReason finish) {
        ObjectNode entry = Json.object();
        entry.put("index", index);
        entry.set(field, message);
        entry.set("logprobs", logprobs);
        entry.put("finish_reason", finish == null ? null : finish.wireName());
        return entry;
    }
}
