package xllm.http.response;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import xllm.api.InferenceService;
import xllm.http.generate.TokenLog;

/**
 * Log-probabilities of a run of generated tokens in the two OpenAI shapes: the legacy completions object
 * of parallel lists, and the chat list of per-token entries. Tokens are shown as their own text.
 */
public final class LogprobsJson {
    private LogprobsJson() {
    }

    /**
     * {@code {tokens, token_logprobs, top_logprobs, text_offset}} for tokens {@code [from, to)};
     * offsets count from {@code textOffset}, where the first token's text begins.
     */
    public static ObjectNode completion(TokenLog log, int from, int to, int textOffset, InferenceService service) {
        ArrayNode tokens = Json.array();
        ArrayNode logprobs = Json.array();
        ArrayNode tops = Json.array();
        ArrayNode offsets = Json.array();
        int offset = textOffset;
        for (int i = from; i < to; i++) {
            String token = tokenText(log.token(i), service);
            tokens.add(token);
            logprobs.add(Json.logprob(log.logprob(i)));
            ObjectNode top = Json.object();
            top.put(token, Json.logprob(log.logprob(i)));
            for (int r = 0; r < log.topCount(i); r++) {
                top.put(tokenText(log.topId(i, r), service), Json.logprob(log.topLogprob(i, r)));
            }
            tops.add(top);
            offsets.add(offset);
            offset += token.length();
        }
        ObjectNode result = Json.object();
        result.set("tokens", tokens);
        result.set("token_logprobs", logprobs);
        result.set("top_logprobs", tops);
        result.set("text_offset", offsets);
        return result;
    }

    /** {@code {content: [{token, logprob, bytes, top_logprobs}]}} for tokens {@code [from, to)}. */
    public static ObjectNode chat(TokenLog log, int from, int to, InferenceService service) {
        ArrayNode content = Json.array();
        for (int i = from; i < to; i++) {
            ObjectNode entry = entry(log.token(i), log.logprob(i), service);
            ArrayNode top = Json.array();
            for (int r = 0; r < log.topCount(i); r++) {
                top.add(entry(log.topId(i, r), log.topLogprob(i, r), service));
            }
            entry.set("top_logprobs", top);
            content.add(entry);
        }
        ObjectNode result = Json.object();
        result.set("content", content);
        return result;
    }

    private static ObjectNode entry(int tokenId, float logprob, InferenceService service) {
        String token = tokenText(tokenId, service);
        ObjectNode entry = Json.object();
        entry.put("token", token);
        entry.put("logprob", Json.logprob(logprob));
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return entry;
    }

    private static String tokenText(int tokenId, InferenceService service) {
        return service.detokenize(new int[] {tokenId}, false);
    }
}
