/** The xllm command line. */
module xllm.cli {
    requires xllm.engine;
    requires xllm.sched;
    requires xllm.http;
    requires jdk.incubator.vector;
    requires java.net.http;
    requires jdk.management;
    requires com.fasterxml.jackson.databind;
}
