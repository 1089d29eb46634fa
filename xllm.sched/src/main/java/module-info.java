/**
 * The service layer: the engine loop thread that drives an engine instance's step, admission and the service
 * facade; the router, workers, shared-memory channels, journal and supervision of several engine processes
 * on one machine.
 */
module xllm.sched {
    requires transitive xllm.engine;
    requires com.lmax.disruptor;
    requires org.agrona;
    // Chronicle ships automatic modules; the router and workers share queues and a map through them.
    requires chronicle.queue;
    requires chronicle.map;
    requires chronicle.wire;
    requires chronicle.bytes;
    // etcd: nodes register in it and routers follow them (jetcd ships automatic modules)
    requires jetcd.core;
    requires jetcd.api;
    requires io.netty.handler;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;

    exports xllm.sched;
    exports xllm.sched.cluster;
    exports xllm.sched.nodes;
}
