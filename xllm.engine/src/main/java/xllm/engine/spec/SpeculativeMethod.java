package xllm.engine.spec;

/** Where drafts come from, spelled as vLLM's {@code speculative_config.method}. */
public enum SpeculativeMethod {
    /** Prompt lookup: the continuation of the latest earlier occurrence of the sequence's last n tokens. */
    NGRAM("ngram"),
    /** Suffix trees over the request's own tokens and over earlier outputs (SuffixDecoding, arXiv 2411.04975). */
    SUFFIX("suffix"),
    /** A small model with the same tokenizer, run batched with its own paged KV cache. */
    DRAFT("draft"),
    /** The target checkpoint's own multi-token-prediction layers (DeepSeek-V3). */
    MTP("mtp");

    private final String spelling;

    SpeculativeMethod(String spelling) {
        this.spelling = spelling;
    }

    public String spelling() {
        return spelling;
    }

    /** The method spelled {@code name} (vLLM's {@code draft_model} and {@code deepseek_mtp} are accepted too). */
    public static SpeculativeMethod parse(String name) {
        for (SpeculativeMethod m : values()) {
            if (m.spelling.equals(name)) {
                return m;
            }
        }
        return switch (name) {
            case "draft_model" -> DRAFT;
            case "deepseek_mtp" -> MTP;
            default -> throw new IllegalArgumentException("speculative method must be one of ngram, suffix, draft, mtp; got '"
                    + name + "'");
        };
    }
}
