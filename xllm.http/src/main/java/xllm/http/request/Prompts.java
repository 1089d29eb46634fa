package xllm.http.request;

import static xllm.http.request.RequestFields.invalid;
import static xllm.http.request.RequestFields.require;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import xllm.api.ChatMessage;
import xllm.api.InferenceService;
import xllm.api.ToolCall;
import xllm.http.response.Json;

/**
 * Turns the prompt fields of a request into token ids: {@code prompt} in its four OpenAI forms (text,
 * list of texts, token ids, list of token-id lists) and {@code messages} through the model's chat
 * template. Token ids are checked against the vocabulary here, before they reach the engine.
 */
public final class Prompts {
    private Prompts() {
    }

    /**
     * The prompts of a completion request, one per choice group.
     *
     * @param needText whether prompts given as token ids need their text (for echo); detokenizing a long
     *     prompt is not free
     */
    public static List<Prompt> completion(RequestFields f, InferenceService service, boolean needText) {
        JsonNode prompt = f.value("prompt");
        require(prompt != null, "prompt", "prompt is required");
        List<Prompt> prompts = new ArrayList<>();
        if (prompt.isTextual()) {
            prompts.add(fromText(prompt.textValue(), true, service));
            return prompts;
        }
        require(prompt.isArray() && !prompt.isEmpty(), "prompt",
                "prompt must be a string, a list of strings, a list of token ids or a list of such lists");
        JsonNode first = prompt.get(0);
        if (first.isNumber()) {
            prompts.add(fromIds(RequestFields.integers(prompt, "prompt"), service, needText));
            return prompts;
        }
        for (JsonNode item : prompt) {
            if (item.isTextual() && first.isTextual()) {
                prompts.add(fromText(item.textValue(), true, service));
            } else if (item.isArray() && first.isArray()) {
                prompts.add(fromIds(RequestFields.integers(item, "prompt"), service, needText));
            } else {
                throw invalid("prompt", "prompt must be a list of strings or a list of token-id lists, not a mix");
            }
        }
        return prompts;
    }

    /** The prompt of a chat request: {@code messages} and the offered tools rendered by the model's chat template. */
    public static Prompt chat(RequestFields f, ToolUse tools, InferenceService service) {
        boolean generationPrompt = f.bool("add_generation_prompt", true);
        String rendered;
        try {
            rendered = service.renderChat(messages(f), tools.offered(), generationPrompt);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw invalid("messages", "the chat template refused the messages: " + e.getMessage());
        }
        return fromText(rendered, false, service);
    }

    /** Tokenizes {@code text}; the chat template already holds its special tokens, so chats add none. */
    public static Prompt fromText(String text, boolean addSpecialTokens, InferenceService service) {
        int[] ids = service.tokenize(text, addSpecialTokens);
        require(ids.length > 0, "prompt", "the prompt is empty");
        return new Prompt(ids, text);
    }

    private static Prompt fromIds(int[] ids, InferenceService service, boolean needText) {
        require(ids.length > 0, "prompt", "the prompt is empty");
        checkVocabulary(ids, service.model().vocabSize(), "prompt");
        return new Prompt(ids, needText ? service.detokenize(ids, false) : "");
    }

    public static void checkVocabulary(int[] ids, int vocabSize, String field) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw invalid(field, field + " holds token id " + ids[i] + " at position " + i
                        + ", outside the vocabulary [0, " + vocabSize + ")");
            }
        }
    }

    private static List<ChatMessage> messages(RequestFields f) {
        JsonNode messages = f.value("messages");
        require(messages != null, "messages", "messages is required");
        require(messages.isArray() && !messages.isEmpty(), "messages", "messages must be a non-empty list");
        List<ChatMessage> result = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String at = "messages[" + i + "]";
            require(message.isObject(), "messages", at + " must be an object with role and content");
            JsonNode role = message.get("role");
            require(role != null && role.isTextual(), "messages", at + ".role must be a string");
            result.add(new ChatMessage(role.textValue(), content(message.get("content"), at),
                    toolCalls(message.get("tool_calls"), at), optionalText(message, "tool_call_id", at),
                    optionalText(message, "name", at)));
        }
        return result;
    }

    /** An assistant turn's calls: {@code [{"id", "type": "function", "function": {"name", "arguments"}}]}. */
    private static List<ToolCall> toolCalls(JsonNode calls, String at) {
        List<ToolCall> result = new ArrayList<>();
        if (calls == null || calls.isNull()) {
            return result;
        }
        require(calls.isArray(), "messages", at + ".tool_calls must be a list");
        for (int i = 0; i < calls.size(); i++) {
            JsonNode call = calls.get(i);
            String where = at + ".tool_calls[" + i + "]";
            JsonNode id = call.path("id");
            JsonNode name = call.path("function").path("name");
            require(id.isTextual(), "messages", where + ".id must be a string");
            require(name.isTextual() && !name.textValue().isEmpty(), "messages",
                    where + ".function.name must be a non-empty string");
            result.add(new ToolCall(id.textValue(), name.textValue(), arguments(call.path("function").get("arguments"),
                    where + ".function.arguments")));
        }
        return result;
    }

    /** The arguments as JSON text of an object; some clients send the object itself rather than its text. */
    private static String arguments(JsonNode arguments, String where) {
        if (arguments == null || arguments.isNull()) {
            return "{}";
        }
        JsonNode parsed = arguments;
        if (arguments.isTextual()) {
            try {
                parsed = Json.MAPPER.readTree(arguments.textValue());
            } catch (JsonProcessingException e) {
                throw invalid("messages", where + " is not valid JSON: " + e.getOriginalMessage());
            }
        }
        require(parsed != null && parsed.isObject(), "messages", where + " must be a JSON object");
        return arguments.isTextual() ? arguments.textValue() : arguments.toString();
    }

    private static String optionalText(JsonNode message, String field, String at) {
        JsonNode value = message.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        require(value.isTextual(), "messages", at + "." + field + " must be a string");
        return value.textValue();
    }

    private static String content(JsonNode content, String at) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        require(content.isArray(), "messages", at + ".content must be a string or a list of content parts");
        StringJoiner text = new StringJoiner("\n");
        for (JsonNode part : content) {
            JsonNode type = part.get("type");
            JsonNode value = part.get("text");
            if (type == null || !type.isTextual() || !type.textValue().equals("text")) {
                throw invalid("messages", at + ".content holds a part of type " + type
                        + "; only {\"type\": \"text\"} parts are supported");
            }
            require(value != null && value.isTextual(), "messages", at + ".content text parts need a string text");
            text.add(value.textValue());
        }
        return text.toString();
    }
}
