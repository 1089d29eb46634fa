package xllm.engine.tokenizer;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * Character trie over added-token contents for leftmost-longest matching, so "<|im_start|>" wins
 * over a shorter "<|im". Built while loading, read-only afterwards; thread-safe once published.
 */
final class TokenTrie {
    private static final class Node {
        final Map<Character, Node> children = new HashMap<>(2);
        int token = -1;
    }

    private final Node root = new Node();
    /** Fast rejection of positions that cannot start a token, without boxing a Character. */
    private final BitSet firstChars = new BitSet();
    private boolean empty = true;

    void add(String content, int token) {
        if (content.isEmpty()) {
            return;
        }
        Node node = root;
        for (int i = 0; i < content.length(); i++) {
            node = node.children.computeIfAbsent(content.charAt(i), c -> new Node());
        }
        node.token = token;
        firstChars.set(content.charAt(0));
        empty = false;
    }

    boolean isEmpty() {
        return empty;
    }

    /** The longest token starting at {@code pos}, packed as {@code end << 32 | token}, or -1. */
    long longestAt(String text, int pos) {
        if (!firstChars.get(text.charAt(pos))) {
            return -1;
        }
        Node node = root;
        long best = -1;
        for (int i = pos; i < text.length(); i++) {
            node = node.children.get(text.charAt(i));
            if (node == null) {
                break;
            }
            if (node.token >= 0) {
                best = ((long) (i + 1) << 32) | node.token;
            }
        }
        return best;
    }
}
