package xllm.engine.tokenizer;

/**
 * One entry of {@code added_tokens}: text matched verbatim before normalization/pre-tokenization
 * and never split by the model. {@code normalized} tokens are matched in the normalized text instead.
 */
record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip,
                  boolean singleWord, boolean normalized) {
}
