package xllm.engine.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELResolver;
import xllm.api.ChatMessage;
import xllm.api.ToolCall;

/**
 * A model's Jinja chat template, rendered with a maintained Jinja engine. Tools, tool calls and tool results
 * reach a template that takes tools as transformers passes them; for one that does not, they are written into
 * plain turns ({@link HermesToolPrompt}). Thread-safe.
 */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = newEngine();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean takesTools;

    ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = JinjavaSyntax.rewrite(stripTrailingNewline(Objects.requireNonNull(source, "source")));
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.takesTools = source.contains("tools");
    }

    /** Configured like HF's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True). */
    private static Jinjava newEngine() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            // Message text must never be evaluated as template code.
            .withNestedInterpretationEnabled(false)
            .withFailOnUnknownTokens(false)
            .withMaxOutputSize(64L << 20)
            .withElResolver(resolver())
            // Python Jinja semantics Jinjava only has behind flags: "{{-"/"-}}" and "{#-"/"-#}" trim
            // whitespace, and lists/dicts print as Python would (['a', 'b']).
            .withLegacyOverrides(LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true)
                .withUsePyishObjectMapper(true)
                .build())
            .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateException.class,
            "raise", String.class));
        jinjava.registerFilter(new PythonJsonFilter());
        return jinjava;
    }

    /** Python str methods first, then Jinjava's usual read-only resolution. */
    private static ELResolver resolver() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return resolver;
    }

    /** Jinja drops one trailing newline of the template source (keep_trailing_newline=False). */
    private static String stripTrailingNewline(String s) {
        if (s.endsWith("\r\n")) {
            return s.substring(0, s.length() - 2);
        }
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /** Whether the template's own text handles tools (it mentions them), as Qwen's and Llama 3.1's do. */
    public boolean takesTools() {
        return takesTools;
    }

    /**
     * Renders the conversation as the model's prompt text.
     *
     * @throws IllegalArgumentException when the template calls raise_exception or cannot be rendered
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, List.of(), addGenerationPrompt);
    }

    /**
     * Renders the conversation, offering the model {@code tools}, as the model's prompt text.
     *
     * @param tools the JSON text of each OpenAI tool object; empty for none
     * @throws IllegalArgumentException when a tool or a call's arguments are not JSON, or the template calls
     *     raise_exception or cannot be rendered
     */
    public String render(List<ChatMessage> messages, List<String> tools, boolean addGenerationPrompt) {
        List<Object> toolObjects = new ArrayList<>(tools.size());
        for (String tool : tools) {
            toolObjects.add(parseJson(tool, "tool"));
        }
        if (!takesTools) {
            messages = HermesToolPrompt.inline(messages, toolObjects);
        }
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            turns.add(turn(m));
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", turns);
        context.put("add_generation_prompt", addGenerationPrompt);
        if (!toolObjects.isEmpty() && takesTools) {
            context.put("tools", toolObjects);
        }
        if (bosToken != null) {
            context.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            context.put("eos_token", eosToken);
        }
        RenderResult result = JINJAVA.renderForResult(source, context);
        for (TemplateError error : result.getErrors()) {
            String raised = TemplateException.messageIn(error.getException());
            if (raised != null) {
                throw new IllegalArgumentException("chat template: " + raised);
            }
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template: line " + error.getLineno() + ": "
                    + error.getMessage());
            }
        }
        return result.getOutput();
    }

    /** A message as transformers hands it to a template: calls with their arguments parsed, so tojson works. */
    private static Map<String, Object> turn(ChatMessage m) {
        Map<String, Object> turn = new LinkedHashMap<>();
        turn.put("role", m.role());
        turn.put("content", m.content());
        if (!m.toolCalls().isEmpty()) {
            List<Map<String, Object>> calls = new ArrayList<>();
            for (ToolCall call : m.toolCalls()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.name());
                function.put("arguments", parseJson(call.arguments(), "tool call arguments"));
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("id", call.id());
                entry.put("type", "function");
                entry.put("function", function);
                calls.add(entry);
            }
            turn.put("tool_calls", calls);
        }
        if (m.toolCallId() != null) {
            turn.put("tool_call_id", m.toolCallId());
        }
        if (m.name() != null) {
            turn.put("name", m.name());
        }
        return turn;
    }

    /** JSON text as maps, lists and plain values in their written order, as Python's json.loads gives them. */
    static Object parseJson(String text, String what) {
        try {
            return JSON.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage());
        }
    }
}
