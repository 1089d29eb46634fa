/** Paged KV memory. */
package xllm.kv;
