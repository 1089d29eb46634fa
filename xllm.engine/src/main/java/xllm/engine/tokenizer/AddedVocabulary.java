package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code added_tokens} of tokenizer.json. They are cut out of the text before the model sees it
 * (raw text for normalized=false, normalized text otherwise), so special tokens such as
 * "<|im_start|>" always map to their single id. Immutable; thread-safe.
 */
final class AddedVocabulary {
    private final List<AddedToken> tokens;
    private final Map<Integer, AddedToken> byId;
    private final Map<String, Integer> byContent;
    private final TokenTrie rawTrie = new TokenTrie();
    private final TokenTrie normalizedTrie = new TokenTrie();

    private AddedVocabulary(List<AddedToken> tokens, TextNormalizer normalizer) {
        this.tokens = List.copyOf(tokens);
        this.byId = new HashMap<>();
        this.byContent = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            AddedToken t = tokens.get(i);
            byId.put(t.id(), t);
            byContent.put(t.content(), t.id());
            if (t.normalized()) {
                normalizedTrie.add(normalizer.apply(t.content()), i);
            } else {
                rawTrie.add(t.content(), i);
            }
        }
    }

    static AddedVocabulary fromJson(JsonNode node, TokenizerJson json, TextNormalizer normalizer) {
        List<AddedToken> tokens = new ArrayList<>();
        if (node != null && !node.isNull()) {
            if (!node.isArray()) {
                throw json.error("'added_tokens' must be an array");
            }
            for (int i = 0; i < node.size(); i++) {
                JsonNode t = node.get(i);
                String what = "added_tokens[" + i + "]";
                JsonNode id = t.path("id");
                if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0
                    || id.intValue() >= BpeModel.MAX_TOKEN_ID) {
                    throw json.error(what + ": 'id' must be a token id");
                }
                boolean special = t.path("special").asBoolean(false);
                tokens.add(new AddedToken(id.intValue(), json.text(t, "content", what), special,
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                    t.path("single_word").asBoolean(false), t.path("normalized").asBoolean(!special)));
            }
        }
        return new AddedVocabulary(tokens, normalizer);
    }

    AddedToken byId(int id) {
        return byId.get(id);
    }

    /** Id of the added token with exactly this content, or -1. */
    int id(String content) {
        Integer id = byContent.get(content);
        return id == null ? -1 : id;
    }

    int maxId() {
        int max = -1;
        for (AddedToken t : tokens) {
            max = Math.max(max, t.id());
        }
        return max;
    }

    /** Cuts non-normalized added tokens out of raw text. */
    void splitRaw(String text, List<Fragment> out) {
        split(text, true, rawTrie, out);
    }

    /** Cuts normalized added tokens out of an already normalized piece. */
    void splitNormalized(String text, boolean atStart, List<Fragment> out) {
        split(text, atStart, normalizedTrie, out);
    }

    private void split(String text, boolean atStart, TokenTrie trie, List<Fragment> out) {
        int n = text.length();
        if (trie.isEmpty()) {
            if (n > 0) {
                out.add(Fragment.plain(text, atStart));
            }
            return;
        }
        int emitted = 0;
        int pos = 0;
        while (pos < n) {
            long match = trie.longestAt(text, pos);
            if (match < 0) {
                pos++;
                continue;
            }
            AddedToken token = tokens.get((int) match);
            int start = pos;
            int end = (int) (match >>> 32);
            if (token.singleWord() && (isWordCharBefore(text, start) || isWordCharAt(text, end))) {
                // Like aho-corasick's find_iter, scanning resumes after the rejected match.
                pos = end;
                continue;
            }
            if (token.lstrip()) {
                while (start > emitted && WhiteSpace.test(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
            }
            if (token.rstrip()) {
                while (end < n && WhiteSpace.test(text.codePointAt(end))) {
                    end += Character.charCount(text.codePointAt(end));
                }
            }
            if (start > emitted) {
                out.add(Fragment.plain(text.substring(emitted, start), atStart && emitted == 0));
            }
            out.add(new Fragment(token.content(), token.id(), atStart && start == 0));
            emitted = end;
            pos = end;
        }
        if (emitted < n) {
            out.add(Fragment.plain(text.substring(emitted), atStart && emitted == 0));
        }
    }

    private static boolean isWordCharBefore(String text, int index) {
        return index > 0 && isWordChar(text.codePointBefore(index));
    }

    private static boolean isWordCharAt(String text, int index) {
        return index < text.length() && isWordChar(text.codePointAt(index));
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
