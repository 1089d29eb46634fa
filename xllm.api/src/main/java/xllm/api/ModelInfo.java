package xllm.api;

/** What clients may know about the served model. */
public record ModelInfo(String id, int maxModelLength, int vocabSize, long createdEpochSeconds) {
}
