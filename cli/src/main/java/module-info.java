/** The xllm command line. */
module xllm.cli {
    requires xllm.engine;
    requires xllm.sched;
    requires xllm.http;
    requires java.net.http;
    requires com.fasterxml.jackson.databind;
}
