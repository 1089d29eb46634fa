/**
 * Model execution: weights, tokenizer, chat templates, architectures, kernels, sampler, runner, and the one
 * engine step every path runs (continuous batching, KV block ownership, sampling, stop rules).
 */
module xllm.engine {
    requires transitive xllm.api;
    requires transitive xllm.kv;
    requires jdk.incubator.vector;
    requires com.fasterxml.jackson.databind;
    requires org.agrona;
    requires jinjava;
    // Jinjava is an automatic module and declares no requires: the named modules it loads classes
    // from at run time are only resolved on the module path if some named module requires them.
    requires org.apache.commons.lang3;
    requires com.fasterxml.jackson.dataformat.yaml;
    requires com.fasterxml.jackson.datatype.jdk8;
    requires org.slf4j;
    // Jinjava's expression language resolves properties (loop.last, ...) through java.beans.
    requires java.desktop;

    exports xllm.engine.tokenizer;
    exports xllm.engine.grammar;
    exports xllm.engine.weights;
    exports xllm.engine.model;
    exports xllm.engine.kernel;
    exports xllm.engine.runner;
    exports xllm.engine.scheduler;
    exports xllm.engine.sample;
    exports xllm.engine.moe;
    exports xllm.engine.spec;
    // Jinjava binds template functions (raise_exception) by reflection and calls setAccessible on them.
    opens xllm.engine.tokenizer to jinjava;
}
