package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * HF's BPE model: vocabulary, ranked merges and the merge loop that turns one pre-tokenized word
 * into ids. Immutable apart from a bounded word cache; thread-safe.
 */
final class BpeModel {
    /** Ids above this are treated as a corrupt file rather than allocated for. */
    static final int MAX_TOKEN_ID = 1 << 22;
    private static final int CACHE_CAPACITY = 10_000;
    private static final int MAX_CACHED_WORD = 256;

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    /** Single-code-point tokens, the starting symbols of the merge loop. */
    private final LongIntMap charIds;
    /** Token pair -> merge rank (index in the merges list). */
    private final LongIntMap mergeRanks;
    /** Merge rank -> id of the merged token. */
    private final int[] mergeResults;
    /** Byte value -> id of its {@code <0xXX>} token, or -1; used when byte_fallback is on. */
    private final int[] byteIds;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final boolean fuseUnk;
    private final int unkId;
    private final String subwordPrefix;
    private final String wordSuffix;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeModel(Map<String, Integer> vocab, String[] idToToken, LongIntMap mergeRanks, int[] mergeResults,
                     boolean byteFallback, boolean ignoreMerges, boolean fuseUnk, int unkId,
                     String subwordPrefix, String wordSuffix) {
        this.vocab = vocab;
        this.idToToken = idToToken;
        this.mergeRanks = mergeRanks;
        this.mergeResults = mergeResults;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.fuseUnk = fuseUnk;
        this.unkId = unkId;
        this.subwordPrefix = subwordPrefix;
        this.wordSuffix = wordSuffix;
        int singleCodePoints = 0;
        for (String t : vocab.keySet()) {
            if (isSingleCodePoint(t)) {
                singleCodePoints++;
            }
        }
        this.charIds = new LongIntMap(singleCodePoints);
        vocab.forEach((t, id) -> {
            if (isSingleCodePoint(t)) {
                charIds.put(t.codePointAt(0), id);
            }
        });
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            byteIds[b] = id == null ? -1 : id;
        }
    }

    private static boolean isSingleCodePoint(String t) {
        return !t.isEmpty() && t.length() <= 2 && t.codePointCount(0, t.length()) == 1;
    }

    static BpeModel fromJson(JsonNode model, TokenizerJson json) {
        String type = json.optionalText(model, "type", "BPE");
        if (!type.equals("BPE")) {
            throw json.error("unsupported model type '" + type + "' (only BPE is implemented)");
        }
        JsonNode vocabNode = json.object(model, "vocab", "model");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        int maxId = -1;
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            JsonNode idNode = e.getValue();
            if (!idNode.canConvertToInt() || !idNode.isIntegralNumber() || idNode.intValue() < 0
                || idNode.intValue() >= MAX_TOKEN_ID) {
                throw json.error("model.vocab: token '" + e.getKey() + "' has invalid id " + idNode);
            }
            vocab.put(e.getKey(), idNode.intValue());
            maxId = Math.max(maxId, idNode.intValue());
        }
        String[] idToToken = new String[maxId + 1];
        vocab.forEach((token, id) -> idToToken[id] = token);

        JsonNode merges = model.path("merges");
        if (!merges.isArray() && !merges.isMissingNode() && !merges.isNull()) {
            throw json.error("model.merges must be an array");
        }
        LongIntMap ranks = new LongIntMap(Math.max(1, merges.size()));
        int[] results = new int[merges.size()];
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = mergePair(merges.get(rank), rank, json);
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            Integer merged = vocab.get(pair[0] + pair[1]);
            if (left == null || right == null || merged == null) {
                throw json.error("model.merges[" + rank + "] refers to a token missing from the vocab");
            }
            // Like HF, a repeated pair keeps its last rank.
            ranks.put(LongIntMap.pair(left, right), rank);
            results[rank] = merged;
        }

        String unk = json.optionalText(model, "unk_token", null);
        Integer unkId = unk == null ? null : vocab.get(unk);
        return new BpeModel(vocab, idToToken, ranks, results,
            model.path("byte_fallback").asBoolean(false),
            model.path("ignore_merges").asBoolean(false),
            model.path("fuse_unk").asBoolean(false),
            unkId == null ? -1 : unkId,
            json.optionalText(model, "continuing_subword_prefix", null),
            json.optionalText(model, "end_of_word_suffix", null));
    }

    /** A merge is "left right" in older files and ["left", "right"] in newer ones. */
    private static String[] mergePair(JsonNode node, int rank, TokenizerJson json) {
        if (node.isTextual()) {
            String s = node.textValue();
            int space = s.indexOf(' ');
            if (space > 0 && space < s.length() - 1 && s.indexOf(' ', space + 1) < 0) {
                return new String[] {s.substring(0, space), s.substring(space + 1)};
            }
        } else if (node.isArray() && node.size() == 2 && node.get(0).isTextual() && node.get(1).isTextual()) {
            return new String[] {node.get(0).textValue(), node.get(1).textValue()};
        }
        throw json.error("model.merges[" + rank + "] must be \"a b\" or [\"a\", \"b\"]");
    }

    /** Highest id in the model vocabulary, or -1 when empty. */
    int maxId() {
        return idToToken.length - 1;
    }

    /** Token text for {@code id}, or null when the vocabulary has no such id. */
    String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** Id of {@code token}, or -1. */
    int id(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    /** Appends the ids of one pre-tokenized word. */
    void encode(String word, IdList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = merge(word);
            if (word.length() <= MAX_CACHED_WORD) {
                if (cache.size() >= CACHE_CAPACITY) {
                    // Crude but bounded: the cache only saves work for repeated words.
                    cache.clear();
                }
                cache.put(word, ids);
            }
        }
        out.addAll(ids);
    }

    /** Splits the word into starting symbols, then applies merges lowest rank first, leftmost first. */
    private int[] merge(String word) {
        int length = word.length();
        int[] ids = new int[length];
        int n = 0;
        boolean unkPending = false;
        for (int i = 0; i < length; ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            int id;
            String symbol = null;
            if (subwordPrefix == null && wordSuffix == null) {
                // charIds holds every single-code-point token, so a miss means "not in the vocab".
                id = charIds.get(cp);
            } else {
                symbol = (i > 0 && subwordPrefix != null ? subwordPrefix : "") + word.substring(i, end)
                    + (end == length && wordSuffix != null ? wordSuffix : "");
                id = id(symbol);
            }
            if (id < 0 && byteFallback) {
                byte[] bytes = (symbol != null ? symbol : word.substring(i, end)).getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xFF] >= 0;
                }
                if (all) {
                    if (unkPending) {
                        ids = append(ids, n++, unkId);
                        unkPending = false;
                    }
                    for (byte b : bytes) {
                        ids = append(ids, n++, byteIds[b & 0xFF]);
                    }
                    i = end;
                    continue;
                }
            }
            if (id >= 0) {
                if (unkPending) {
                    ids = append(ids, n++, unkId);
                    unkPending = false;
                }
                ids = append(ids, n++, id);
            } else if (unkId >= 0) {
                if (unkPending && !fuseUnk) {
                    ids = append(ids, n++, unkId);
                }
                unkPending = true;
            }
            // Without an unk token an unknown character is dropped; HF refuses the whole input instead.
            i = end;
        }
        if (unkPending) {
            ids = append(ids, n++, unkId);
        }
        return n < 2 ? java.util.Arrays.copyOf(ids, n) : applyMerges(ids, n);
    }

    private static int[] append(int[] ids, int at, int id) {
        if (at == ids.length) {
            ids = java.util.Arrays.copyOf(ids, ids.length * 2 + 1);
        }
        ids[at] = id;
        return ids;
    }

    /**
     * HF's merge loop: symbols form a linked list; a min-heap holds candidate merges keyed by
     * (rank, position), stale entries are skipped when popped. O(n log n) even for huge words.
     */
    private int[] applyMerges(int[] ids, int n) {
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        MergeQueue queue = new MergeQueue(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                int rank = mergeRanks.get(LongIntMap.pair(ids[i], ids[i + 1]));
                if (rank >= 0) {
                    queue.push(rank, i);
                }
            }
        }
        int remaining = n;
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            int right = next[pos];
            if (removed[pos] || right < 0) {
                continue;
            }
            int current = mergeRanks.get(LongIntMap.pair(ids[pos], ids[right]));
            // HF validates a queued merge by the id it would produce, not by its rank.
            if (current < 0 || mergeResults[current] != mergeResults[rank]) {
                continue;
            }
            ids[pos] = mergeResults[rank];
            removed[right] = true;
            remaining--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                int r = mergeRanks.get(LongIntMap.pair(ids[prev[pos]], ids[pos]));
                if (r >= 0) {
                    queue.push(r, prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                int r = mergeRanks.get(LongIntMap.pair(ids[pos], ids[next[pos]]));
                if (r >= 0) {
                    queue.push(r, pos);
                }
            }
        }
        int[] out = new int[remaining];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = ids[i];
        }
        return out;
    }
}
