package xllm.engine.tokenizer;

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

/** A model's Jinja chat template, rendered with a maintained Jinja engine. Thread-safe. */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = newEngine();

    private final String source;
    private final String bosToken;
    private final String eosToken;

    ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = stripTrailingNewline(Objects.requireNonNull(source, "source"));
        this.bosToken = bosToken;
        this.eosToken = eosToken;
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

    /**
     * Renders the conversation as the model's prompt text.
     *
     * @throws IllegalArgumentException when the template calls raise_exception or cannot be rendered
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> turn = new LinkedHashMap<>();
            turn.put("role", m.role());
            turn.put("content", m.content());
            turns.add(turn);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", turns);
        context.put("add_generation_prompt", addGenerationPrompt);
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
}
