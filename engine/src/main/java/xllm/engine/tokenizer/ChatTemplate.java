package xllm.engine.tokenizer;

import java.util.List;
import xllm.api.ChatMessage;

/** A model's Jinja chat template, rendered with a maintained Jinja engine. Thread-safe. */
public final class ChatTemplate {
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        throw new UnsupportedOperationException();
    }
}
