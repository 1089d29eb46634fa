/** The OpenAI-compatible HTTP API: Helidon Nima routes over an {@code xllm.api.InferenceService}. */
module xllm.http {
    requires xllm.api;
    requires io.helidon.webserver;
    // TLS from PEM files (--ssl-certfile, --ssl-keyfile, --ssl-ca-certs)
    requires io.helidon.common.pki;
    requires io.helidon.common.configurable;
    requires io.helidon.common.task;
    requires com.fasterxml.jackson.databind;

    exports xllm.http;
}
