package xllm.engine.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One parsed, untrusted JSON file of a tokenizer directory, with typed accessors whose failures
 * become one-line IllegalArgumentExceptions naming the file. Used only while loading.
 */
final class TokenizerJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String fileName;
    private final JsonNode root;

    private TokenizerJson(String fileName, JsonNode root) {
        this.fileName = fileName;
        this.root = root;
    }

    /** Reads {@code file}; a missing file yields null when {@code optional}, an error otherwise. */
    static TokenizerJson read(Path file, boolean optional) {
        String name = String.valueOf(file.getFileName());
        if (optional && !Files.exists(file)) {
            return null;
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new IllegalArgumentException(file + ": malformed JSON" + where + ": " + oneLine(e.getOriginalMessage()), e);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": file not found", e);
        } catch (IOException e) {
            String why = Files.exists(file) ? oneLine(e.getMessage()) : "file not found";
            throw new IllegalArgumentException(file + ": cannot read: " + why, e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object at the top level");
        }
        return new TokenizerJson(name, root);
    }

    /** An in-memory document, named {@code fileName} in errors (a tokenizer described by a GGUF file). */
    static TokenizerJson of(String fileName, JsonNode root) {
        return new TokenizerJson(fileName, root);
    }

    JsonNode root() {
        return root;
    }

    IllegalArgumentException error(String message) {
        return new IllegalArgumentException(fileName + ": " + message);
    }

    /**
     * A required string field. The {@code what}/{@code where} arguments below name the enclosing
     * section ("model", "pre_tokenizer", ...) so that errors read like "model.vocab must be an object".
     */
    String text(JsonNode node, String field, String what) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw error(path(what, field) + " must be a string");
        }
        return value.textValue();
    }

    /** An optional string field, or {@code fallback} when absent or null. */
    String optionalText(JsonNode node, String field, String fallback) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isTextual()) {
            throw error(field + " must be a string");
        }
        return value.textValue();
    }

    /** A required array field. */
    JsonNode array(JsonNode node, String field, String what) {
        JsonNode value = node.get(field);
        if (value == null || !value.isArray()) {
            throw error(path(what, field) + " must be an array");
        }
        return value;
    }

    /** A required object field. */
    JsonNode object(JsonNode node, String field, String what) {
        JsonNode value = node.get(field);
        if (value == null || !value.isObject()) {
            throw error(path(what, field) + " must be an object");
        }
        return value;
    }

    /** An HF pattern: {@code {"String": literal}} or {@code {"Regex": rust-regex}}. */
    Pattern pattern(JsonNode node, String what) {
        if (node != null && node.isObject()) {
            JsonNode literal = node.get("String");
            if (literal != null && literal.isTextual()) {
                return Pattern.compile(Pattern.quote(literal.textValue()));
            }
            JsonNode regex = node.get("Regex");
            if (regex != null && regex.isTextual()) {
                try {
                    return RustRegex.compile(regex.textValue());
                } catch (PatternSyntaxException e) {
                    throw error(what + ": unsupported regex " + abbreviate(regex.textValue()) + ": "
                        + oneLine(e.getDescription()));
                }
            }
        }
        throw error(path(what, "pattern") + " must be {\"String\": ...} or {\"Regex\": ...}");
    }

    /** Where a field sits, e.g. "model.vocab"; {@code where} is empty for top-level fields. */
    private static String path(String where, String field) {
        return where.isEmpty() ? field : where + "." + field;
    }

    /** A token's text as HF writes it in tokenizer_config.json: a string or {"content": ...}. */
    static String tokenContent(JsonNode value) {
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isTextual()) {
            return value.textValue();
        }
        JsonNode content = value.get("content");
        return content != null && content.isTextual() ? content.textValue() : null;
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? "'" + s + "'" : "'" + s.substring(0, 77) + "...'";
    }
}
