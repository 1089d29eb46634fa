package xllm.sched;

import java.util.List;
import xllm.api.ChatMessage;
import xllm.api.InferenceService;
import xllm.api.ModelInfo;
import xllm.api.StructuredOutput;

/**
 * An {@link InferenceService} whose text side (tokenizer, chat template, constraint checks) is one
 * {@link ServedText}, wherever its tokens are generated: in this process, in worker processes or on nodes.
 */
public interface ServedTextService extends InferenceService {
    /** The served text; throws {@link xllm.api.ServiceException} (503) while the model is not loaded yet. */
    ServedText servedText();

    @Override
    default ModelInfo model() {
        return servedText().info();
    }

    @Override
    default int[] tokenize(String text, boolean addSpecialTokens) {
        return servedText().tokenize(text, addSpecialTokens);
    }

    @Override
    default String detokenize(int[] ids, boolean skipSpecialTokens) {
        return servedText().detokenize(ids, skipSpecialTokens);
    }

    @Override
    default TextStream newTextStream() {
        return servedText().newTextStream();
    }

    @Override
    default void checkStructuredOutput(StructuredOutput constraint) {
        servedText().checkStructuredOutput(constraint);
    }

    @Override
    default String renderChat(List<ChatMessage> messages, List<String> tools, boolean addGenerationPrompt) {
        return servedText().renderChat(messages, tools, addGenerationPrompt);
    }

    @Override
    default int[] eosTokenIds() {
        return servedText().eosTokenIds();
    }
}
