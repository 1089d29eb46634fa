package xllm.engine.grammar;

import java.util.Arrays;
import java.util.List;
import xllm.engine.tokenizer.Tokenizer;

/**
 * A model's vocabulary as a byte trie laid out in preorder, so that a walk is one pass over flat arrays and a
 * subtree the grammar rejects is skipped with one jump. Special tokens are not in it (no text contains them);
 * end-of-sequence tokens are kept apart, allowed where a sentence may end. Immutable.
 */
public final class VocabularyTrie {
    /** Node 0 is the root; node n > 0 is reached by byte {@code nodeByte[n]} from its parent. */
    final int[] nodeByte;
    final int[] nodeDepth;
    /** The first node after n's subtree. */
    final int[] nodeSkip;
    /** Tokens whose bytes end at node n: {@code tokens[nodeFirstToken[n] .. nodeFirstToken[n+1])}. */
    final int[] nodeFirstToken;
    final int[] tokens;
    /** See {@link #nodeTokens}. */
    final int[] nodeToken;
    final int maxDepth;
    final int vocabSize;
    final int[] eosIds;
    /** Each token's bytes; null for special tokens and ids no token has. */
    private final byte[][] pieces;

    private VocabularyTrie(byte[][] pieces, int vocabSize, int[] eosIds) {
        this.pieces = pieces;
        this.vocabSize = vocabSize;
        this.eosIds = eosIds.clone();
        Integer[] order = new Integer[pieces.length];
        int count = 0;
        for (int id = 0; id < pieces.length; id++) {
            if (pieces[id] != null && pieces[id].length > 0) {
                order[count++] = id;
            }
        }
        Integer[] sorted = Arrays.copyOf(order, count);
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(pieces[a], pieces[b]));
        IntBuffer bytes = new IntBuffer();
        IntBuffer depth = new IntBuffer();
        IntBuffer skip = new IntBuffer();
        IntBuffer first = new IntBuffer();
        this.tokens = new int[count];
        bytes.add(0);
        depth.add(0);
        skip.add(0);
        first.add(0);
        int[] path = new int[1]; // node at each depth of the current path
        byte[] previous = new byte[0];
        int longest = 0;
        for (int t = 0; t < count; t++) {
            byte[] piece = pieces[sorted[t]];
            int common = Arrays.mismatch(previous, piece);
            common = common < 0 ? piece.length : Math.min(common, Math.min(previous.length, piece.length));
            // close the nodes of the previous path below the common prefix
            for (int d = previous.length; d > common; d--) {
                skip.set(path[d], bytes.size());
            }
            if (path.length < piece.length + 1) {
                path = Arrays.copyOf(path, piece.length + 1);
            }
            for (int d = common + 1; d <= piece.length; d++) {
                path[d] = bytes.size();
                bytes.add(piece[d - 1] & 0xFF);
                depth.add(d);
                skip.add(0);
                first.add(t);
            }
            tokens[t] = sorted[t];
            previous = piece;
            longest = Math.max(longest, piece.length);
        }
        for (int d = previous.length; d >= 1; d--) {
            skip.set(path[d], bytes.size());
        }
        skip.set(0, bytes.size());
        first.add(count); // the sentinel after the last node
        this.nodeByte = bytes.toArray();
        this.nodeDepth = depth.toArray();
        this.nodeSkip = skip.toArray();
        // the tokens of a node are the run from the token that created it to the one that created the next node:
        // in sorted order a text comes right before the longer texts it prefixes
        this.nodeFirstToken = first.toArray();
        this.maxDepth = longest;
        this.nodeToken = nodeTokens(nodeFirstToken, tokens);
    }

    /**
     * Each node's token in one load: its id when exactly one token ends there, -1 when none, and
     * {@code -2 - first} when several do (tokens with equal bytes, listed from {@code first} in {@link #tokens}).
     */
    private static int[] nodeTokens(int[] first, int[] tokens) {
        int[] out = new int[first.length - 1];
        for (int n = 0; n < out.length; n++) {
            int count = first[n + 1] - first[n];
            out[n] = count == 0 ? -1 : count == 1 ? tokens[first[n]] : -2 - first[n];
        }
        return out;
    }

    /** The trie of {@code tokenizer}'s vocabulary; {@code eosIds} end a sentence. */
    public static VocabularyTrie of(Tokenizer tokenizer, int[] eosIds) {
        return of(tokenizer, eosIds, tokenizer.vocabSize());
    }

    /**
     * The trie of {@code tokenizer}'s vocabulary for a model whose logits are {@code logitsWidth} wide (a model
     * may pad its vocabulary beyond the tokenizer's: those ids are never allowed).
     */
    public static VocabularyTrie of(Tokenizer tokenizer, int[] eosIds, int logitsWidth) {
        int size = Math.max(logitsWidth, tokenizer.vocabSize());
        byte[][] pieces = new byte[size][];
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (!tokenizer.isSpecial(id)) {
                pieces[id] = tokenizer.tokenBytes(id);
            }
        }
        for (int eos : eosIds) {
            if (eos >= 0 && eos < size) {
                pieces[eos] = null;
            }
        }
        return new VocabularyTrie(pieces, size, eosIds);
    }

    /** A trie of the given token texts (id = index; null for none): for tests and tools. */
    static VocabularyTrie of(List<byte[]> pieces, int[] eosIds) {
        return new VocabularyTrie(pieces.toArray(byte[][]::new), pieces.size(), eosIds);
    }

    /** The bytes of {@code token} in a text, or null for a special token (end of sequence among them). */
    byte[] bytes(int token) {
        return token >= 0 && token < pieces.length ? pieces[token] : null;
    }

    boolean isEos(int token) {
        for (int eos : eosIds) {
            if (eos == token) {
                return true;
            }
        }
        return false;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Number of nodes: what a full walk visits. */
    public int nodeCount() {
        return nodeByte.length;
    }

    /** A growable int array, for building. */
    private static final class IntBuffer {
        private int[] data = new int[1024];
        private int size;

        void add(int v) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }

        void set(int i, int v) {
            data[i] = v;
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
