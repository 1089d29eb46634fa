package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import xllm.api.InferenceService;
import xllm.http.generate.Choice;
import xllm.http.generate.ChoiceStep;
import xllm.http.request.GenerationSpec;
import xllm.http.request.Prompt;
import xllm.http.request.RequestFields;

/**
 * What differs between {@code /v1/completions} and {@code /v1/chat/completions}: where the prompt comes
 * from and how a choice is spelled. The generation itself is the same. Stateless.
 */
interface GenerationApi {
    boolean chat();

    /** Response ids are this prefix and a random UUID. */
    String idPrefix();

    /** The request field that holds the prompt, for error messages. */
    String inputField();

    String responseObject();

    String chunkObject();

    List<Prompt> prompts(RequestFields f, GenerationSpec spec, InferenceService service);

    /** The choice entry of the chunk sent before any token, or null when there is none. */
    ObjectNode openingChoice(Choice choice, GenerationSpec spec);

    /** The choice entries of the chunks for {@code step}, in order; none when the step has nothing to show. */
    List<ObjectNode> stepChoices(ChoiceStep step, GenerationSpec spec, InferenceService service);

    /** The choice entry of the complete (non-streamed) response. */
    ObjectNode finalChoice(Choice choice, GenerationSpec spec, InferenceService service);
}
