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

/** The legacy completions API: prompts in, {@code text} choices out, {@code echo} supported. */
final class CompletionsApi implements GenerationApi {
    @Override
    public boolean chat() {
        return false;
    }

    @Override
    public String idPrefix() {
        return "cmpl-";
    }

    @Override
    public String inputField() {
        return "prompt";
    }

    @Override
    public String responseObject() {
        return "text_completion";
    }

    @Override
    public String chunkObject() {
        return "text_completion";
    }

    @Override
    public List<Prompt> prompts(RequestFields f, GenerationSpec spec, InferenceService service) {
        return Prompts.completion(f, service, spec.echo());
    }

    @Override
    public ObjectNode openingChoice(Choice choice, GenerationSpec spec) {
        return spec.echo() ? entry(choice.index(), choice.prompt().text(), null, null) : null;
    }

    @Override
    public List<ObjectNode> stepChoices(ChoiceStep step, GenerationSpec spec, InferenceService service) {
        boolean logprobs = spec.topLogprobs() >= 0 && step.toToken() > step.fromToken();
        if (step.text().isEmpty() && step.finish() == null && !logprobs) {
            return List.of();
        }
        Choice choice = step.choice();
        int offset = choice.textLength() - step.text().length() + echoLength(choice, spec);
        ObjectNode lp = logprobs
                ? LogprobsJson.completion(choice.log(), step.fromToken(), step.toToken(), offset, service)
                : null;
        return List.of(entry(choice.index(), step.text(), lp, step.finish()));
    }

    @Override
    public ObjectNode finalChoice(Choice choice, GenerationSpec spec, InferenceService service) {
        String text = spec.echo() ? choice.prompt().text() + choice.text() : choice.text();
        ObjectNode lp = spec.topLogprobs() >= 0
                ? LogprobsJson.completion(choice.log(), 0, choice.completionTokens(), echoLength(choice, spec), service)
                : null;
        return entry(choice.index(), text, lp, choice.finishReason());
    }

    private static int echoLength(Choice choice, GenerationSpec spec) {
        return spec.echo() ? choice.prompt().text().length() : 0;
    }

    private static ObjectNode entry(int index, String text, ObjectNode logprobs, FinishReason finish) {
        ObjectNode entry = Json.object();
        entry.put("index", index);
        entry.put("text", text);
        entry.set("logprobs", logprobs);
        entry.put("finish_reason", finish == null ? null : finish.wireName());
        return entry;
    }
}
