package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import xllm.api.FinishReason;
import xllm.api.InferenceService;
import xllm.http.generate.Choice;
import xllm.http.generate.ChoiceStep;
import xllm.http.request.GenerationSpec;
import xllm.http.request.Prompt;
import xllm.http.request.Prompts;
import xllm.http.request.RequestFields;
import xllm.http.response.Json;
import xllm.http.response.LogprobsJson;

/** The chat completions API: {@code messages} through the chat template in, assistant messages out. */
final class ChatApi implements GenerationApi {
    private static final String ROLE = "assistant";

    @Override
    public boolean chat() {
        return true;
    }

    @Override
    public String idPrefix() {
        return "chatcmpl-";
    }

    @Override
    public String inputField() {
        return "messages";
    }

    @Override
    public String responseObject() {
        return "chat.completion";
    }

    @Override
    public String chunkObject() {
        return "chat.completion.chunk";
    }

    @Override
    public List<Prompt> prompts(RequestFields f, GenerationSpec spec, InferenceService service) {
        return List.of(Prompts.chat(f, service));
    }

    /** The first chunk of each choice names the role, as OpenAI's streams do. */
    @Override
    public ObjectNode openingChoice(Choice choice, GenerationSpec spec) {
        ObjectNode delta = Json.object();
        delta.put("role", ROLE);
        delta.put("content", "");
        return entry(choice.index(), "delta", delta, null, null);
    }

    @Override
    public ObjectNode stepChoice(ChoiceStep step, GenerationSpec spec, InferenceService service) {
        boolean logprobs = spec.topLogprobs() >= 0 && step.toToken() > step.fromToken();
        if (step.text().isEmpty() && step.finish() == null && !logprobs) {
            return null;
        }
        ObjectNode delta = Json.object();
        if (!step.text().isEmpty()) {
            delta.put("content", step.text());
        }
        ObjectNode lp = logprobs
                ? LogprobsJson.chat(step.choice().log(), step.fromToken(), step.toToken(), service)
                : null;
        return entry(step.choice().index(), "delta", delta, lp, step.finish());
    }

    @Override
    public ObjectNode finalChoice(Choice choice, GenerationSpec spec, InferenceService service) {
        ObjectNode message = Json.object();
        message.put("role", ROLE);
        message.put("content", choice.text());
        ObjectNode lp = spec.topLogprobs() >= 0
                ? LogprobsJson.chat(choice.log(), 0, choice.completionTokens(), service)
                : null;
        return entry(choice.index(), "message", message, lp, choice.finishReason());
    }

    private static ObjectNode entry(int index, String field, ObjectNode message, ObjectNode logprobs,
            FinishReason finish) {
        ObjectNode entry = Json.object();
        entry.put("index", index);
        entry.set(field, message);
        entry.set("logprobs", logprobs);
        entry.put("finish_reason", finish == null ? null : finish.wireName());
        return entry;
    }
}
