package xllm.engine.spec;

import java.util.Arrays;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntArrayQueue;
import org.agrona.collections.Long2LongHashMap;

/**
 * How often each run of at most {@code maxDepth} tokens occurs in a set of token sequences: a path-compressed
 * trie of all their suffixes, each suffix cut at {@code maxDepth} tokens, every node counting the suffixes that
 * pass through it. The newest sequence is open and grows a token at a time, in O(maxDepth) per token; the
 * oldest can be removed exactly. Drafts follow the most frequent continuation of the longest matches of a
 * context (SuffixDecoding, arXiv 2411.04975). Nodes live in parallel int arrays; a node's edge is a run of
 * {@code length} tokens read from one of the sequences, at {@code refStart} of sequence {@code refSeq}. Not
 * thread-safe: owned by one thread.
 */
final class SuffixTree {
    private static final int NONE = -1;
    private static final int ROOT = 0;

    private final int maxDepth;
    /** (node, first token of a child's edge) to that child. */
    private final Long2LongHashMap childOf = new Long2LongHashMap(64, 0.65f, NONE);

    private int[] parent;
    private int[] token;
    private int[] length;
    private int[] refSeq;
    private int[] refStart;
    private int[] count;
    private int[] firstChild;
    private int[] nextSibling;
    private int[] prevSibling;
    private int nodesUsed;
    private int freeNodes = NONE;
    private int liveNodes;

    private int[][] seqTokens = new int[1][];
    private int[] seqLength = new int[1];
    private final IntArrayQueue sequences = new IntArrayQueue(8, NONE);
    private final IntArrayList freeSeqs = new IntArrayList();
    private int seqsUsed;
    private int open = NONE;
    /** The ends of the open sequence's suffixes that still grow (fewer than maxDepth tokens), oldest first. */
    private final int[] active;
    private int activeFirst;
    private int activeCount;

    private int[] candidate = new int[16];

    SuffixTree(int maxDepth) {
        if (maxDepth < 1) {
            throw new IllegalArgumentException("max tree depth must be at least 1, got " + maxDepth);
        }
        this.maxDepth = maxDepth;
        this.active = new int[maxDepth];
        allocateNodes(64);
        clear();
    }

    /** Forgets every sequence, keeping the memory. */
    void clear() {
        childOf.clear();
        nodesUsed = 0;
        freeNodes = NONE;
        liveNodes = 0;
        newNode(NONE, NONE, 0, 0, NONE, NONE);
        sequences.clear();
        freeSeqs.clear();
        seqsUsed = 0;
        open = NONE;
        activeCount = 0;
    }

    /** Starts a new open sequence; the previous open one can grow no more. */
    void startSequence() {
        int seq;
        if (!freeSeqs.isEmpty()) {
            seq = freeSeqs.popInt();
        } else {
            if (seqsUsed == seqTokens.length) {
                seqTokens = Arrays.copyOf(seqTokens, 2 * seqsUsed);
                seqLength = Arrays.copyOf(seqLength, 2 * seqsUsed);
            }
            seq = seqsUsed++;
            seqTokens[seq] = new int[16];
        }
        seqLength[seq] = 0;
        sequences.addInt(seq);
        open = seq;
        activeCount = 0;
    }

    int sequenceCount() { return sequences.size(); }

    int openLength() { return open == NONE ? 0 : seqLength[open]; }

    /** Whether the open sequence is {@code tokens[0 .. openLength)}, with {@code length} at least as long. */
    boolean openIsPrefixOf(int[] tokens, int length) {
        int n = openLength();
        return n <= length && (n == 0 || Arrays.equals(seqTokens[open], 0, n, tokens, 0, n));
    }

    /** Appends {@code tokens[from .. to)} to the open sequence. */
    void extend(int[] tokens, int from, int to) {
        for (int i = from; i < to; i++) {
            append(tokens[i]);
        }
    }

    /** Appends one token to the open sequence: every growing suffix, and a new one, takes it. */
    void append(int t) {
        if (open == NONE) {
            throw new IllegalStateException("no open sequence: call startSequence first");
        }
        int seq = open;
        int pos = seqLength[seq];
        if (pos == seqTokens[seq].length) {
            seqTokens[seq] = Arrays.copyOf(seqTokens[seq], 2 * pos);
        }
        seqTokens[seq][pos] = t;
        seqLength[seq] = pos + 1;
        if (activeCount == maxDepth) {
            // the oldest growing suffix has maxDepth tokens: it ends where it is
            activeFirst = (activeFirst + 1) % maxDepth;
            activeCount--;
        }
        active[(activeFirst + activeCount) % maxDepth] = ROOT;
        activeCount++;
        count[ROOT]++;
        for (int k = 0; k < activeCount; k++) {
            int slot = (activeFirst + k) % maxDepth;
            active[slot] = grow(active[slot], seq, pos, t);
        }
    }

    /**
     * Extends the suffix of {@code seq} that ends at node {@code a} by token {@code t} (at {@code pos}); returns
     * the node it ends at now. Suffixes end only at node boundaries, and a child always counts fewer suffixes
     * than its parent, so the tree has O(total tokens) nodes. Every node the suffix reaches takes it as its
     * reference, so a node always refers to the newest sequence through it, which {@link #removeOldest} needs.
     */
    private int grow(int a, int seq, int pos, int t) {
        int c = child(a, t);
        if (c == NONE) {
            if (a != ROOT && count[a] == 1) {
                length[a]++; // a leaf only this suffix reaches: its edge grows
                return a;
            }
            int n = newNode(a, t, 1, 1, seq, pos);
            linkFirst(a, n);
            return n;
        }
        if (a != ROOT && count[a] == count[c] + 1) {
            // every other suffix through a goes on into c: a and c's first token become one run
            if (length[c] == 1) {
                childOf.remove(key(a, t));
                firstChild[a] = NONE;
                token[c] = token[a];
                count[c] = count[a];
                length[c] = length[a] + 1;
                refSeq[c] = seq;
                refStart[c] = pos + 1 - length[c];
                parent[c] = parent[a];
                replace(a, c);
                freeNode(a);
                return c;
            }
            length[a]++;
            refSeq[a] = seq;
            refStart[a] = pos + 1 - length[a];
            length[c]--;
            refStart[c]++;
            rekey(c, seqTokens[refSeq[c]][refStart[c]]);
            return a;
        }
        if (length[c] == 1) {
            count[c]++;
            refSeq[c] = seq;
            refStart[c] = pos;
            moveToFront(c);
            return c;
        }
        // the suffix ends one token into c's edge: split c there
        int n = newNode(a, t, count[c] + 1, 1, seq, pos);
        replace(c, n);
        parent[c] = n;
        length[c]--;
        refStart[c]++;
        token[c] = seqTokens[refSeq[c]][refStart[c]];
        nextSibling[c] = NONE;
        prevSibling[c] = NONE;
        linkFirst(n, c);
        moveToFront(n);
        return n;
    }

    /**
     * Removes the oldest sequence and every count it added; nodes only it reached are freed. Exact because every
     * other node refers to a newer sequence (see {@link #grow}).
     */
    void removeOldest() {
        int seq = sequences.pollInt();
        if (seq == NONE) {
            throw new IllegalStateException("no sequence to remove");
        }
        if (seq == open) {
            open = NONE;
            activeCount = 0;
        }
        int[] s = seqTokens[seq];
        int n = seqLength[seq];
        for (int start = 0; start < n; start++) {
            count[ROOT]--;
            int node = ROOT;
            int end = Math.min(n, start + maxDepth);
            for (int i = start; i < end; ) {
                int c = child(node, s[i]);
                if (--count[c] == 0) {
                    unlink(c);
                    freeChain(c);
                    break;
                }
                i += length[c];
                node = c;
            }
            mergeWithOnlyChild(node);
        }
        seqLength[seq] = 0;
        freeSeqs.addInt(seq);
    }

    /** Counts the suffixes that begin with {@code path[from .. to)}: how often it occurs (0 if longer than maxDepth). */
    int count(int[] path, int from, int to) {
        int node = ROOT;
        int idx = 0;
        for (int i = from; i < to; i++) {
            if (idx == length[node]) {
                node = child(node, path[i]);
                if (node == NONE) {
                    return 0;
                }
                idx = 0;
            }
            if (seqTokens[refSeq[node]][refStart[node] + idx] != path[i]) {
                return 0;
            }
            idx++;
        }
        return count[node];
    }

    /** Nodes in use, the root included. */
    int nodeCount() { return liveNodes; }

    /**
     * Drafts a continuation of {@code context[from .. to)} into {@code out}: for every match length m (each
     * suffix of the context of at most maxDepth tokens that occurs in the tree), follows the most frequent
     * child from the matched point, multiplying the estimated probability (child count / parent count) as it
     * goes, while it stays at least {@code minTokenProb}, for at most min(maxTokens, floor(m * maxSpecFactor))
     * tokens; keeps the draft of highest score, the longer match on a tie.
     */
    void speculate(int[] context, int from, int to, int maxTokens, float maxSpecFactor, float minTokenProb,
                   SuffixDraft out) {
        out.clear();
        if (candidate.length < maxTokens) {
            candidate = new int[Math.max(maxTokens, 2 * candidate.length)];
        }
        int longest = Math.min(to - from, maxDepth);
        for (int m = 1; m <= longest; m++) {
            long match = match(context, to - m, to);
            if (match < 0) {
                break; // a longer suffix cannot occur either
            }
            int budget = Math.min(maxTokens, (int) (m * maxSpecFactor + 1e-6f));
            int node = (int) (match >>> 32);
            int idx = (int) match;
            int n = 0;
            float prob = 1f;
            float score = 0f;
            while (n < budget && prob >= minTokenProb) {
                if (idx < length[node]) {
                    candidate[n++] = seqTokens[refSeq[node]][refStart[node] + idx++];
                    score += prob;
                } else {
                    int best = mostFrequentChild(node);
                    if (best == NONE) {
                        break;
                    }
                    prob *= (float) count[best] / count[node];
                    node = best;
                    idx = 0;
                }
            }
            if (score >= out.score()) {
                out.set(candidate, n, score, m);
            }
        }
    }

    /** The node and offset into its edge where {@code context[from .. to)} ends, packed; -1 if it does not occur. */
    private long match(int[] context, int from, int to) {
        int node = ROOT;
        int idx = 0;
        for (int i = from; i < to; i++) {
            if (idx == length[node]) {
                node = child(node, context[i]);
                if (node == NONE) {
                    return -1;
                }
                idx = 0;
            }
            if (seqTokens[refSeq[node]][refStart[node] + idx] != context[i]) {
                return -1;
            }
            idx++;
        }
        return ((long) node << 32) | idx;
    }

    /** Ties go to the child a suffix entered last: children are kept most recent first. */
    private int mostFrequentChild(int node) {
        int best = NONE;
        int bestCount = 0;
        for (int c = firstChild[node]; c != NONE; c = nextSibling[c]) {
            if (count[c] > bestCount) {
                best = c;
                bestCount = count[c];
            }
        }
        return best;
    }

    private int child(int node, int t) {
        int c = firstChild[node];
        if (c == NONE) {
            return NONE;
        }
        if (nextSibling[c] == NONE) {
            return token[c] == t ? c : NONE;
        }
        return (int) childOf.get(key(node, t));
    }

    private static long key(int node, int t) {
        return ((long) node << 32) | (t & 0xFFFFFFFFL);
    }

    /** After a removal: a node whose only child carries all its suffixes merges into that child. */
    private void mergeWithOnlyChild(int node) {
        int c = firstChild[node];
        if (node == ROOT || c == NONE || nextSibling[c] != NONE || count[c] != count[node]) {
            return;
        }
        childOf.remove(key(node, token[c]));
        token[c] = token[node];
        length[c] += length[node];
        refStart[c] -= length[node];
        parent[c] = parent[node];
        replace(node, c);
        freeNode(node);
    }

    /** Frees a node that no suffix reaches any more, and its descendants: with count 1 they were a chain. */
    private void freeChain(int c) {
        while (c != NONE) {
            int next = firstChild[c];
            if (next != NONE) {
                childOf.remove(key(c, token[next]));
            }
            freeNode(c);
            c = next;
        }
    }

    private void linkFirst(int p, int c) {
        int head = firstChild[p];
        nextSibling[c] = head;
        prevSibling[c] = NONE;
        if (head != NONE) {
            prevSibling[head] = c;
        }
        firstChild[p] = c;
        childOf.put(key(p, token[c]), c);
    }

    private void unlink(int c) {
        int p = parent[c];
        childOf.remove(key(p, token[c]));
        detach(c, p);
    }

    private void detach(int c, int p) {
        int prev = prevSibling[c];
        int next = nextSibling[c];
        if (prev != NONE) {
            nextSibling[prev] = next;
        } else {
            firstChild[p] = next;
        }
        if (next != NONE) {
            prevSibling[next] = prev;
        }
    }

    private void moveToFront(int c) {
        int p = parent[c];
        if (firstChild[p] == c) {
            return;
        }
        detach(c, p);
        int head = firstChild[p];
        nextSibling[c] = head;
        prevSibling[c] = NONE;
        prevSibling[head] = c;
        firstChild[p] = c;
    }

    /** {@code by} takes {@code old}'s place among its parent's children, under the same first token. */
    private void replace(int old, int by) {
        int p = parent[old];
        childOf.put(key(p, token[old]), by);
        int prev = prevSibling[old];
        int next = nextSibling[old];
        prevSibling[by] = prev;
        nextSibling[by] = next;
        if (prev != NONE) {
            nextSibling[prev] = by;
        } else {
            firstChild[p] = by;
        }
        if (next != NONE) {
            prevSibling[next] = by;
        }
    }

    private void rekey(int c, int t) {
        if (token[c] != t) {
            int p = parent[c];
            childOf.remove(key(p, token[c]));
            token[c] = t;
            childOf.put(key(p, t), c);
        }
    }

    private int newNode(int p, int t, int cnt, int len, int seq, int start) {
        int n;
        if (freeNodes != NONE) {
            n = freeNodes;
            freeNodes = nextSibling[n];
        } else {
            if (nodesUsed == count.length) {
                allocateNodes(2 * nodesUsed);
            }
            n = nodesUsed++;
        }
        parent[n] = p;
        token[n] = t;
        count[n] = cnt;
        length[n] = len;
        refSeq[n] = seq;
        refStart[n] = start;
        firstChild[n] = NONE;
        nextSibling[n] = NONE;
        prevSibling[n] = NONE;
        liveNodes++;
        return n;
    }

    private void freeNode(int n) {
        parent[n] = NONE;
        firstChild[n] = NONE;
        nextSibling[n] = freeNodes;
        freeNodes = n;
        liveNodes--;
    }

    private void allocateNodes(int capacity) {
        parent = grown(parent, capacity);
        token = grown(token, capacity);
        length = grown(length, capacity);
        refSeq = grown(refSeq, capacity);
        refStart = grown(refStart, capacity);
        count = grown(count, capacity);
        firstChild = grown(firstChild, capacity);
        nextSibling = grown(nextSibling, capacity);
        prevSibling = grown(prevSibling, capacity);
    }

    private static int[] grown(int[] a, int capacity) {
        return a == null ? new int[capacity] : Arrays.copyOf(a, capacity);
    }
}
