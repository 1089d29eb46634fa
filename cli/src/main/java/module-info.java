/** The xllm command line. */
module xllm.cli {
    requires xllm.engine;
    requires com.fasterxml.jackson.databind;
}
