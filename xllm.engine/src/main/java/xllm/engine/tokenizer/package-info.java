/** Hugging Face tokenizers (tokenizer.json), incremental detokenization and chat templates. */
package xllm.engine.tokenizer;
