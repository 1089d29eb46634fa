/** Scheduling: continuous batching per engine instance, the engine loop and the service facade. */
module xllm.sched {
    requires transitive xllm.engine;
    requires com.lmax.disruptor;
    requires org.agrona;

    exports xllm.sched;
}
