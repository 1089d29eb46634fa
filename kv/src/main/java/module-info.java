/** Paged KV memory: an off-heap page arena, a reference-counted block allocator, block tables. */
module xllm.kv {
    requires transitive xllm.api;

    exports xllm.kv;
}
