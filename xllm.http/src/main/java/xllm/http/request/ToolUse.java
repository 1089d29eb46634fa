package xllm.http.request;

import static xllm.http.request.RequestFields.invalid;
import static xllm.http.request.RequestFields.require;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import xllm.api.StructuredOutput;
import xllm.http.response.Json;

/**
 * The tools a chat request offers the model ({@code tools}, {@code tool_choice}, {@code parallel_tool_calls}),
 * validated: what the chat template is given, whether the output is read for calls, and the constraint that
 * forces a call when the client requires one.
 *
 * @param tools each tool as {@code {"type": "function", "function": {"name", "description", "parameters"}}}
 * @param named the tool {@code tool_choice} names, or null
 */
public record ToolUse(List<ObjectNode> tools, ToolChoice choice, String named, boolean parallel) {
    /** A request without tools. */
    public static final ToolUse NONE = new ToolUse(List.of(), ToolChoice.NONE, null, true);

    /** OpenAI's rule for function names. */
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    public ToolUse {
        tools = List.copyOf(tools);
    }

    /** Reads the tool fields of a chat request. */
    public static ToolUse parse(RequestFields f) {
        List<ObjectNode> tools = tools(f.value("tools"));
        boolean parallel = f.bool("parallel_tool_calls", true);
        JsonNode choiceField = f.value("tool_choice");
        if (choiceField == null) {
            return tools.isEmpty() ? NONE : new ToolUse(tools, ToolChoice.AUTO, null, parallel);
        }
        if (choiceField.isTextual()) {
            ToolChoice choice = switch (choiceField.textValue()) {
                case "none" -> ToolChoice.NONE;
                case "auto" -> ToolChoice.AUTO;
                case "required" -> ToolChoice.REQUIRED;
                default -> throw invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or"
                        + " {\"type\": \"function\", \"function\": {\"name\": ...}}, got \"" + choiceField.textValue() + "\"");
            };
            require(choice != ToolChoice.REQUIRED || !tools.isEmpty(), "tool_choice",
                    "tool_choice \"required\" needs tools; give the tools the model must choose from");
            return new ToolUse(tools, choice, null, parallel);
        }
        String named = namedTool(choiceField);
        require(tools.stream().anyMatch(tool -> name(tool).equals(named)), "tool_choice",
                "tool_choice names the function \"" + named + "\", which is not among the tools");
        return new ToolUse(tools, ToolChoice.NAMED, named, parallel);
    }

    /** The tools as JSON texts for the chat template; none when tool_choice is "none". */
    public List<String> offered() {
        if (choice == ToolChoice.NONE) {
            return List.of();
        }
        List<String> texts = new ArrayList<>(tools.size());
        for (ObjectNode tool : tools) {
            texts.add(tool.toString());
        }
        return texts;
    }

    /** Whether the output is read for tool calls. */
    public boolean readsCalls() {
        return choice != ToolChoice.NONE && !tools.isEmpty();
    }

    /**
     * The constraint that forces calls of the offered tools (one call of the named one for a named choice), or null
     * when the model may answer in text.
     */
    public StructuredOutput constraint() {
        if (choice != ToolChoice.REQUIRED && choice != ToolChoice.NAMED) {
            return null;
        }
        ObjectNode spec = Json.object();
        ArrayNode allowed = spec.putArray("tools");
        for (ObjectNode tool : tools) {
            if (choice == ToolChoice.REQUIRED || name(tool).equals(named)) {
                ObjectNode entry = allowed.addObject();
                entry.put("name", name(tool));
                entry.set("parameters", parameters(tool));
            }
        }
        // a named choice forces that one call, as OpenAI's does; required may call several when allowed
        spec.put("parallel", parallel && choice == ToolChoice.REQUIRED);
        return new StructuredOutput(StructuredOutput.Kind.TOOL_CALLS, spec.toString());
    }

    private static List<ObjectNode> tools(JsonNode field) {
        List<ObjectNode> tools = new ArrayList<>();
        if (field == null) {
            return tools;
        }
        require(field.isArray(), "tools", "tools must be a list of {\"type\": \"function\", \"function\": {...}}");
        Set<String> names = new HashSet<>();
        for (int i = 0; i < field.size(); i++) {
            ObjectNode tool = tool(field.get(i), "tools[" + i + "]");
            require(names.add(name(tool)), "tools", "tools holds the function \"" + name(tool) + "\" twice");
            tools.add(tool);
        }
        return tools;
    }

    /** A tool in the canonical shape the chat template gets, whatever else the client sent with it. */
    private static ObjectNode tool(JsonNode given, String at) {
        require(given.isObject(), "tools", at + " must be an object");
        JsonNode type = given.get("type");
        require(type != null && "function".equals(type.textValue()), "tools",
                at + ".type must be \"function\", got " + type);
        JsonNode function = given.get("function");
        require(function != null && function.isObject(), "tools", at + ".function must be an object");
        JsonNode name = function.get("name");
        require(name != null && name.isTextual() && NAME.matcher(name.textValue()).matches(), "tools",
                at + ".function.name must be 1 to 64 letters, digits, '_' or '-', got " + name);
        ObjectNode tool = Json.object();
        tool.put("type", "function");
        ObjectNode canonical = tool.putObject("function");
        canonical.put("name", name.textValue());
        JsonNode description = function.get("description");
        if (description != null && !description.isNull()) {
            require(description.isTextual(), "tools", at + ".function.description must be a string");
            canonical.set("description", description);
        }
        JsonNode parameters = function.get("parameters");
        if (parameters != null && !parameters.isNull()) {
            require(parameters.isObject(), "tools", at + ".function.parameters must be a JSON Schema object");
            canonical.set("parameters", parameters);
        }
        return tool;
    }

    private static String namedTool(JsonNode choice) {
        String shape = "tool_choice must be \"none\", \"auto\", \"required\" or"
                + " {\"type\": \"function\", \"function\": {\"name\": ...}}";
        require(choice.isObject() && "function".equals(choice.path("type").textValue()), "tool_choice", shape);
        JsonNode name = choice.path("function").path("name");
        require(name.isTextual() && !name.textValue().isEmpty(), "tool_choice", shape);
        return name.textValue();
    }

    private static String name(ObjectNode tool) {
        return tool.get("function").get("name").textValue();
    }

    /** A function without parameters takes none: an empty object is its only argument. */
    private static JsonNode parameters(ObjectNode tool) {
        JsonNode parameters = tool.get("function").get("parameters");
        if (parameters != null) {
            return parameters;
        }
        ObjectNode none = Json.object();
        none.put("type", "object");
        none.putObject("properties");
        none.put("additionalProperties", false);
        return none;
    }
}
