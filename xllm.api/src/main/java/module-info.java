/** Value types shared by every layer of xLLM: sampling parameters, finish reasons, errors. */
module xllm.api {
    exports xllm.api;
}
