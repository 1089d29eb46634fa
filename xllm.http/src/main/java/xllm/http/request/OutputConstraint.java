package xllm.http.request;

import static xllm.http.request.RequestFields.invalid;
import static xllm.http.request.RequestFields.require;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import xllm.api.InferenceService;
import xllm.api.ServiceException;
import xllm.api.StructuredOutput;
import xllm.http.response.Json;

/**
 * The constraint a request puts on its output and the field it came from: OpenAI's {@code response_format},
 * vLLM's {@code structured_outputs} (and its older {@code guided_json}, {@code guided_regex},
 * {@code guided_choice}, {@code guided_grammar}), or a tool choice that forces a call. At most one per request.
 */
public record OutputConstraint(StructuredOutput output, String field) {
    private static final List<String> GUIDED = List.of("guided_json", "guided_regex", "guided_choice", "guided_grammar");
    private static final Set<String> STRUCTURED_KEYS = Set.of("json", "regex", "choice", "grammar", "json_object");
    private static final Pattern SCHEMA_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    /**
     * Reads the request's constraint and has {@code service} compile it, so that one the engine cannot enforce
     * is refused now, naming its field; null when the output is free.
     */
    public static OutputConstraint parse(RequestFields f, ToolUse tools, InferenceService service) {
        List<OutputConstraint> found = new ArrayList<>();
        addIfPresent(found, responseFormat(f), "response_format");
        addIfPresent(found, structuredOutputs(f), "structured_outputs");
        for (String field : GUIDED) {
            addIfPresent(found, guided(f, field), field);
        }
        addIfPresent(found, tools.constraint(), "tool_choice");
        if (found.isEmpty()) {
            return null;
        }
        if (found.size() > 1) {
            throw invalid(found.get(1).field(), found.get(0).field() + " and " + found.get(1).field()
                    + " both constrain the output; give only one of them");
        }
        OutputConstraint constraint = found.getFirst();
        try {
            service.checkStructuredOutput(constraint.output());
        } catch (ServiceException e) {
            String field = constraint.field().equals("tool_choice") ? "tools" : constraint.field();
            throw new ServiceException(e.kind(), e.getMessage(), field);
        }
        return constraint;
    }

    private static void addIfPresent(List<OutputConstraint> found, StructuredOutput output, String field) {
        if (output != null) {
            found.add(new OutputConstraint(output, field));
        }
    }

    /** {@code {"type": "text" | "json_object" | "json_schema", "json_schema": {"name", "schema", "strict"}}}. */
    private static StructuredOutput responseFormat(RequestFields f) {
        JsonNode format = f.value("response_format");
        if (format == null) {
            return null;
        }
        require(format.isObject() && format.path("type").isTextual(), "response_format",
                "response_format must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or"
                        + " {\"type\": \"json_schema\", \"json_schema\": {...}}");
        return switch (format.get("type").textValue()) {
            case "text" -> null;
            case "json_object" -> StructuredOutput.jsonObject();
            case "json_schema" -> jsonSchema(format.get("json_schema"));
            default -> throw invalid("response_format", "response_format.type must be \"text\", \"json_object\" or"
                    + " \"json_schema\", got \"" + format.get("type").textValue() + "\"");
        };
    }

    private static StructuredOutput jsonSchema(JsonNode jsonSchema) {
        require(jsonSchema != null && jsonSchema.isObject(), "response_format",
                "response_format of type json_schema needs json_schema: {\"name\": ..., \"schema\": {...}}");
        JsonNode name = jsonSchema.get("name");
        require(name != null && name.isTextual() && SCHEMA_NAME.matcher(name.textValue()).matches(),
                "response_format", "response_format.json_schema.name must be 1 to 64 letters, digits, '_' or '-'");
        JsonNode schema = jsonSchema.get("schema");
        if (schema == null || schema.isNull()) {
            return StructuredOutput.jsonObject();
        }
        require(schema.isObject(), "response_format", "response_format.json_schema.schema must be a JSON Schema object");
        return new StructuredOutput(StructuredOutput.Kind.JSON_SCHEMA, schema.toString());
    }

    /** vLLM's {@code {"json" | "regex" | "choice" | "grammar" | "json_object": ...}}, exactly one of them. */
    private static StructuredOutput structuredOutputs(RequestFields f) {
        String field = "structured_outputs";
        JsonNode outputs = f.value(field);
        if (outputs == null) {
            return null;
        }
        require(outputs.isObject(), field, "structured_outputs must be an object with one of json, regex, choice,"
                + " grammar or json_object");
        List<String> given = new ArrayList<>();
        for (Iterator<String> names = outputs.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            require(STRUCTURED_KEYS.contains(name), field, "structured_outputs." + name
                    + " is not supported; give one of json, regex, choice, grammar or json_object");
            if (!outputs.get(name).isNull() && !(name.equals("json_object") && !outputs.get(name).asBoolean())) {
                given.add(name);
            }
        }
        require(given.size() == 1, field, "structured_outputs must hold exactly one of json, regex, choice, grammar"
                + " or json_object, got " + (given.isEmpty() ? "none" : String.join(", ", given)));
        String kind = given.getFirst();
        JsonNode value = outputs.get(kind);
        return switch (kind) {
            case "json" -> schema(value, field + ".json", field);
            case "regex" -> new StructuredOutput(StructuredOutput.Kind.REGEX, text(value, field + ".regex", field));
            case "choice" -> choice(value, field + ".choice", field);
            case "grammar" -> new StructuredOutput(StructuredOutput.Kind.GRAMMAR, text(value, field + ".grammar", field));
            default -> {
                require(value.isBoolean(), field, "structured_outputs.json_object must be true or false");
                yield StructuredOutput.jsonObject();
            }
        };
    }

    private static StructuredOutput guided(RequestFields f, String field) {
        JsonNode value = f.value(field);
        if (value == null) {
            return null;
        }
        return switch (field) {
            case "guided_json" -> schema(value, field, field);
            case "guided_regex" -> new StructuredOutput(StructuredOutput.Kind.REGEX, text(value, field, field));
            case "guided_choice" -> choice(value, field, field);
            default -> new StructuredOutput(StructuredOutput.Kind.GRAMMAR, text(value, field, field));
        };
    }

    /** A JSON Schema given as an object or as its JSON text. */
    private static StructuredOutput schema(JsonNode value, String name, String field) {
        JsonNode schema = value;
        if (value.isTextual()) {
            try {
                schema = Json.MAPPER.readTree(value.textValue());
            } catch (JsonProcessingException e) {
                throw invalid(field, name + " is not valid JSON: " + e.getOriginalMessage());
            }
        }
        require(schema != null && schema.isObject(), field, name + " must be a JSON Schema object");
        return new StructuredOutput(StructuredOutput.Kind.JSON_SCHEMA, schema.toString());
    }

    private static String text(JsonNode value, String name, String field) {
        require(value.isTextual() && !value.textValue().isEmpty(), field, name + " must be a non-empty string");
        return value.textValue();
    }

    private static StructuredOutput choice(JsonNode value, String name, String field) {
        require(value.isArray() && !value.isEmpty(), field, name + " must be a non-empty list of strings");
        for (JsonNode item : value) {
            require(item.isTextual(), field, name + " must be a non-empty list of strings");
        }
        return new StructuredOutput(StructuredOutput.Kind.CHOICE, value.toString());
    }
}
