/** Paged KV memory: an off-heap page arena, a reference-counted block allocator
 * with prefix caching, block tables. */
module xllm.kv {
    requires transitive xllm.api;
    requires org.agrona;

    exports xllm.kv;
    exports xllm.kv.files;
}
