package xllm.sched;

import java.util.Arrays;
import java.util.List;
import xllm.api.ChatMessage;
import xllm.api.InferenceService;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.api.StructuredOutput;
import xllm.engine.grammar.Constraints;
import xllm.engine.grammar.GrammarException;
import xllm.engine.model.ModelConfig;
import xllm.engine.tokenizer.ChatTemplate;
import xllm.engine.tokenizer.IncrementalDecoder;
import xllm.engine.tokenizer.Tokenizer;

/**
 * The text side of a served model, what a service answers without running it: tokenizer, chat template,
 * end-of-sequence ids, context length. Shared by the one-process service and the router. Thread-safe.
 */
public final class ServedText {
    private final Tokenizer tokenizer;
    private final ModelInfo info;
    private final int[] eosIds;
    private final String servedName;

    public ServedText(Tokenizer tokenizer, ModelConfig config, String servedName, long createdEpochSeconds) {
        this.tokenizer = tokenizer;
        this.servedName = servedName;
        this.info = new ModelInfo(servedName, config.maxPositions(), config.vocabSize(), createdEpochSeconds);
        int[] eos = config.eosTokenIds();
        if (tokenizer.eosTokenId() >= 0 && Arrays.stream(eos).noneMatch(id -> id == tokenizer.eosTokenId())) {
            eos = Arrays.copyOf(eos, eos.length + 1);
            eos[eos.length - 1] = tokenizer.eosTokenId();
        }
        this.eosIds = eos;
    }

    public ModelInfo info() {
        return info;
    }

    public int[] eosTokenIds() {
        return eosIds.clone();
    }

    public int[] tokenize(String text, boolean addSpecialTokens) {
        return tokenizer.encode(text, addSpecialTokens);
    }

    public String detokenize(int[] ids, boolean skipSpecialTokens) {
        checkIds(ids, "tokens");
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    public InferenceService.TextStream newTextStream() {
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(true);
        return new InferenceService.TextStream() {
            @Override
            public String next(int tokenId) {
                return decoder.next(tokenId);
            }

            @Override
            public String flush() {
                return decoder.flush();
            }
        };
    }

    /** Compiles {@code constraint}, refusing what the engine cannot enforce with a 400 naming it; the API layer names the field. */
    public void checkStructuredOutput(StructuredOutput constraint) {
        try {
            Constraints.compile(constraint);
        } catch (GrammarException e) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, e.getMessage(), null);
        }
    }

    public String renderChat(List<ChatMessage> messages, List<String> tools, boolean addGenerationPrompt) {
        ChatTemplate template = tokenizer.chatTemplate();
        if (template == null) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                    "model " + servedName + " has no chat template; use /v1/completions", "messages");
        }
        try {
            return template.render(messages, tools, addGenerationPrompt);
        } catch (IllegalArgumentException e) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, e.getMessage(), "messages");
        }
    }

    /** Refuses ids outside the vocabulary (400), naming the request field they came from. */
    public void checkIds(int[] ids, String field) {
        for (int id : ids) {
            if (id < 0 || id >= info.vocabSize()) {
                throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                        "token id " + id + " in " + field + " is outside the vocabulary of " + info.vocabSize(), field);
            }
        }
    }

    /** Refuses a prompt and completion that together exceed the context (400), in vLLM's words. */
    public void checkContext(int prompt, int maxTokens) {
        int limit = info.maxModelLength();
        if (prompt + maxTokens > limit) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST, "This model's maximum context length is "
                    + limit + " tokens. However, you requested " + (prompt + maxTokens) + " tokens (" + prompt
                    + " in the messages, " + maxTokens + " in the completion). Please reduce the length of the messages or completion.",
                    "max_tokens");
        }
    }
}
