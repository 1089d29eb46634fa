package xllm.http.endpoint;

import xllm.api.InferenceService;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.http.request.RequestFields;

/**
 * The one model this server answers for, under the name clients must use. Thread-safe.
 *
 * @param servedName the name given at start, or null for the service's own model id
 */
public record ServedModel(InferenceService service, String servedName) {
    public String name() {
        return servedName != null ? servedName : service.model().id();
    }

    public ModelInfo info() {
        return service.model();
    }

    /** Refuses a request for another model with 404, as vLLM does; a request without a model is ours. */
    public void check(RequestFields f) {
        String requested = f.text("model", null);
        if (requested != null && !requested.equals(name())) {
            throw new ServiceException(ServiceException.Kind.NOT_FOUND,
                    "The model `" + requested + "` does not exist.", "model");
        }
    }
}
