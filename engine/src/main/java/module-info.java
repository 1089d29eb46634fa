/** Model execution: weights, tokenizer, chat templates, architectures, kernels, sampler, runner. */
module xllm.engine {
    requires transitive xllm.api;
    requires transitive xllm.kv;
    requires jdk.incubator.vector;
    requires com.fasterxml.jackson.databind;
    requires jinjava;
    requires org.agrona;

    exports xllm.engine.tokenizer;
    exports xllm.engine.weights;
    exports xllm.engine.model;
    exports xllm.engine.kernel;
    exports xllm.engine.runner;
    exports xllm.engine.sample;
    exports xllm.engine.moe;
}
