package xllm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import xllm.api.ChatMessage;

/** Chat templates render exactly as transformers' Python Jinja does, and the prompt tokenizes as HF's. */
class ChatTemplateTest {
    private static final List<ChatMessage> HELLO = List.of(new ChatMessage("user", "Hello"));

    static List<GoldenCases.ChatCase> chatGoldens() {
        return GoldenCases.chatCases(GoldenCases.BYTE_LEVEL);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chatGoldens")
    void rendersModelTemplateExactly(GoldenCases.ChatCase c) {
        ChatTemplate template = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL).chatTemplate();
        assertEquals(c.rendered(), template.render(c.messages(), c.addGenerationPrompt()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chatGoldens")
    void renderedPromptEncodesToReferenceIds(GoldenCases.ChatCase c) {
        Tokenizer t = TokenizerGoldenTest.tokenizer(GoldenCases.BYTE_LEVEL);
        assertArrayEquals(c.ids(), t.encode(t.chatTemplate().render(c.messages(), c.addGenerationPrompt()), false));
    }

    /**
     * Real-world template shapes (Mistral, Zephyr, Gemma, Qwen2.5, DeepSeek-R1, Llama 2/3, Phi-3, multi-line
     * ChatML) against output recorded from Python jinja2 configured as transformers configures it:
     * whitespace control ({{- -}}, trim_blocks, lstrip_blocks), Python str methods, namespace(), loop
     * variables and raise_exception must all agree.
     */
    @ParameterizedTest(name = "{0} / {1} / add_generation_prompt={2}")
    @MethodSource("jinjaReference")
    void agreesWithPythonJinja(String name, String conversation, boolean addGenerationPrompt, String source,
                               List<ChatMessage> messages, String rendered, String error) {
        ChatTemplate template = new ChatTemplate(source, "<s>", "</s>");
        if (error != null) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> template.render(messages, addGenerationPrompt));
            assertEquals("chat template: " + error, e.getMessage());
        } else {
            assertEquals(rendered, template.render(messages, addGenerationPrompt));
        }
    }

    static List<Arguments> jinjaReference() throws IOException {
        JsonNode reference;
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("jinja_reference.json")) {
            reference = new ObjectMapper().readTree(in);
        }
        List<Arguments> args = new ArrayList<>();
        for (JsonNode c : reference.get("cases")) {
            String name = c.get("template").asText();
            String conversation = c.get("conversation").asText();
            List<ChatMessage> messages = new ArrayList<>();
            for (JsonNode m : reference.get("conversations").get(conversation)) {
                messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
            }
            args.add(Arguments.of(name, conversation, c.get("add_generation_prompt").asBoolean(),
                reference.get("templates").get(name).asText(), messages,
                c.has("rendered") ? c.get("rendered").asText() : null,
                c.has("error") ? c.get("error").asText() : null));
        }
        return args;
    }

    @Test
    void messageTextIsNeverEvaluatedAsTemplateCode() {
        ChatTemplate template = new ChatTemplate("{{ messages[0]['content'] }}", null, null);
        assertEquals("{{ 7 * 7 }}{% if true %}x{% endif %}",
            template.render(List.of(new ChatMessage("user", "{{ 7 * 7 }}{% if true %}x{% endif %}")), false));
    }

    @Test
    void oneTrailingNewlineOfTheTemplateIsDroppedLikeJinja() {
        assertEquals("Hello\n", new ChatTemplate("{{ messages[0].content }}\n\n", null, null).render(HELLO, false));
    }

    @Test
    void brokenTemplateFailsWithClearError() {
        ChatTemplate template = new ChatTemplate("{% for m in messages %}{{ m.content }}", null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> template.render(HELLO, true));
        assertEquals(true, e.getMessage().startsWith("chat template: "), e.getMessage());
    }

    @Test
    void missingBosTokenRendersEmpty() {
        assertEquals("[Hello]", new ChatTemplate("[{{ bos_token }}{{ messages[0].content }}]", null, null)
            .render(HELLO, false));
    }
}
