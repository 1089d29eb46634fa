/** The OpenAI-compatible HTTP API: Helidon Nima routes over an {@code xllm.api.InferenceService}. */
module xllm.http {
    requires xllm.api;
    requires io.helidon.webserver;
    requires com.fasterxml.jackson.databind;

    exports xllm.http;
}
