/** Model execution: weights, tokenizer, chat templates, architectures, kernels, sampler, runner. */
module xllm.engine {
    requires transitive xllm.api;
    requires transitive xllm.kv;
    requires jdk.incubator.vector;
    requires com.fasterxml.jackson.databind;
    requires jinjava;

    exports xllm.engine.tokenizer;
}
