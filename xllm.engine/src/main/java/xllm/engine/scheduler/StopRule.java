package xllm.engine.scheduler;

import xllm.api.FinishReason;
import xllm.api.SamplingParams;

/** When a sequence ends after sampling a token: a stop or end-of-sequence token, or a length limit. */
public final class StopRule {
    private StopRule() {
    }

    /**
     * Why the sequence ends after {@code token}, or null when it goes on.
     *
     * @param eosIds end-of-sequence ids (ignored with {@code ignore_eos})
     * @param outputLength tokens generated so far, {@code token} included
     * @param length prompt plus output tokens
     * @param maxModelLength the model's context length
     */
    public static FinishReason after(int token, SamplingParams params, int[] eosIds, int outputLength, int length,
                                     int maxModelLength) {
        if (params.isStopToken(token) || (!params.ignoreEos() && contains(eosIds, token))) {
            return FinishReason.STOP;
        }
        if (outputLength >= params.maxTokens() || length >= maxModelLength) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    private static boolean contains(int[] ids, int token) {
        for (int id : ids) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }
}
