package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The suffix tree against brute force: after every append and every removal it counts each run of tokens as
 * often as it occurs, and its drafts follow the most frequent continuation of the best match.
 */
class SuffixTreeTest {
    /** Runs of up to 8 tokens below BASE - 1 pack into a long key, one digit per token. */
    static final int BASE = 8;

    @Test
    void countsMatchBruteForceWhileASequenceGrowsAndOldOnesLeave() {
        Random random = new Random(11);
        for (int trial = 0; trial < 30; trial++) {
            int depth = 1 + random.nextInt(6);
            int alphabet = 2 + random.nextInt(3);
            SuffixTree tree = new SuffixTree(depth);
            List<int[]> live = new ArrayList<>();
            List<Integer> lengths = new ArrayList<>();
            for (int step = 0; step < 12; step++) {
                if (!live.isEmpty() && random.nextInt(4) == 0) {
                    tree.removeOldest();
                    live.remove(0);
                    lengths.remove(0);
                    check(tree, live, lengths, depth, alphabet, random);
                    continue;
                }
                int[] s = sequence(random, 1 + random.nextInt(40), alphabet);
                tree.startSequence();
                live.add(s);
                lengths.add(0);
                for (int i = 0; i < s.length; i++) {
                    tree.append(s[i]);
                    lengths.set(lengths.size() - 1, i + 1);
                    if (i % 9 == 0 || i == s.length - 1) {
                        check(tree, live, lengths, depth, alphabet, random);
                    }
                }
            }
            while (!live.isEmpty()) {
                tree.removeOldest();
                live.remove(0);
                lengths.remove(0);
                check(tree, live, lengths, depth, alphabet, random);
            }
            assertEquals(1, tree.nodeCount(), "removing every sequence leaves only the root");
        }
    }

    @Test
    void draftsFollowTheMostFrequentContinuationOfTheBestMatch() {
        Random random = new Random(5);
        int exact = 0;
        for (int trial = 0; trial < 400; trial++) {
            int depth = 2 + random.nextInt(6);
            int alphabet = 2 + random.nextInt(4);
            SuffixTree tree = new SuffixTree(depth);
            List<int[]> seqs = new ArrayList<>();
            int[] base = sequence(random, 6 + random.nextInt(6), alphabet);
            for (int k = 0; k < 1 + random.nextInt(4); k++) {
                int[] s = mutated(base, random, alphabet, 3);
                tree.startSequence();
                tree.extend(s, 0, s.length);
                seqs.add(s);
            }
            Map<Long, Integer> counts = bruteCounts(seqs, lengthsOf(seqs), depth);
            int[] context = mutated(base, random, alphabet, 1 + random.nextInt(base.length));
            int maxTokens = 1 + random.nextInt(8);
            float factor = 0.5f + random.nextInt(4);
            float minProb = random.nextInt(3) * 0.25f;
            SuffixDraft draft = new SuffixDraft();
            tree.speculate(context, 0, context.length, maxTokens, factor, minProb, draft);
            Reference expected = speculate(counts, alphabet, depth, context, maxTokens, factor, minProb);
            assertValidWalk(counts, alphabet, depth, context, maxTokens, factor, minProb, draft);
            if (!expected.ambiguous) {
                exact++;
                assertEquals(expected.matchLength, draft.matchLength());
                assertArrayEquals(expected.tokens, Arrays.copyOf(draft.tokens(), draft.count()));
                assertEquals(expected.score, draft.score(), 1e-5);
            }
        }
        assertTrue(exact > 100, "enough drafts without ties to compare exactly: " + exact);
    }

    static void check(SuffixTree tree, List<int[]> seqs, List<Integer> lengths, int depth, int alphabet,
                      Random random) {
        Map<Long, Integer> counts = bruteCounts(seqs, lengths, depth);
        int total = lengths.stream().mapToInt(Integer::intValue).sum();
        assertEquals(total, tree.count(new int[0], 0, 0), "the root counts every suffix");
        // every node ends a suffix or branches: compressed, the tree stays linear in the tokens it holds
        assertTrue(tree.nodeCount() <= 2 * total + 1, tree.nodeCount() + " nodes for " + total + " tokens");
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            int[] path = unpack(e.getKey());
            assertEquals(e.getValue(), tree.count(path, 0, path.length), () -> Arrays.toString(path));
        }
        for (int k = 0; k < 20; k++) {
            int[] path = sequence(random, 1 + random.nextInt(depth + 1), alphabet);
            assertEquals(count(counts, path), tree.count(path, 0, path.length),
                    Arrays.toString(path));
        }
    }

    /** Every run of at most {@code depth} tokens, with how many positions it starts at. */
    static Map<Long, Integer> bruteCounts(List<int[]> seqs, List<Integer> lengths, int depth) {
        Map<Long, Integer> counts = new HashMap<>();
        for (int k = 0; k < seqs.size(); k++) {
            int[] s = seqs.get(k);
            int n = lengths.get(k);
            for (int p = 0; p < n; p++) {
                long key = 0;
                for (int m = 1; m <= depth && p + m <= n; m++) {
                    key = key * BASE + s[p + m - 1] + 1;
                    counts.merge(key, 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    record Reference(int[] tokens, float score, int matchLength, boolean ambiguous) {
    }

    /** SuffixDecoding's greedy draft, by counting; {@code ambiguous} when a walk met tied children. */
    static Reference speculate(Map<Long, Integer> counts, int alphabet, int depth, int[] context, int maxTokens,
                               float factor, float minProb) {
        Reference best = new Reference(new int[0], 0f, 0, false);
        boolean ambiguous = false;
        for (int m = 1; m <= Math.min(depth, context.length); m++) {
            int[] path = Arrays.copyOfRange(context, context.length - m, context.length);
            if (count(counts, path) == 0) {
                break;
            }
            int budget = Math.min(maxTokens, (int) (m * factor + 1e-6f));
            List<Integer> tokens = new ArrayList<>();
            float prob = 1f;
            float score = 0f;
            while (tokens.size() < budget) {
                int parentCount = count(counts, path);
                int bestToken = -1;
                int bestCount = 0;
                for (int x = 0; x < alphabet; x++) {
                    int c = count(counts, append(path, x));
                    if (c > bestCount) {
                        bestToken = x;
                        bestCount = c;
                    } else if (c == bestCount && c > 0) {
                        ambiguous = true;
                    }
                }
                if (bestToken < 0) {
                    break;
                }
                float next = prob * ((float) bestCount / parentCount);
                if (next < minProb) {
                    break;
                }
                prob = next;
                tokens.add(bestToken);
                score += prob;
                path = append(path, bestToken);
            }
            if (score >= best.score) {
                best = new Reference(tokens.stream().mapToInt(Integer::intValue).toArray(), score, m, false);
            }
        }
        return new Reference(best.tokens, best.score, best.matchLength, ambiguous);
    }

    /** Whatever the tie-breaks, the draft continues a context suffix that occurs, greedily and within bounds. */
    static void assertValidWalk(Map<Long, Integer> counts, int alphabet, int depth, int[] context, int maxTokens,
                                float factor, float minProb, SuffixDraft draft) {
        int m = draft.matchLength();
        if (m == 0) {
            assertEquals(0, draft.count());
            return;
        }
        int[] path = Arrays.copyOfRange(context, context.length - m, context.length);
        assertTrue(count(counts, path) > 0, "the match occurs");
        assertTrue(draft.count() <= Math.min(maxTokens, (int) (m * factor + 1e-6f)), "the draft keeps its budget");
        float prob = 1f;
        float score = 0f;
        for (int k = 0; k < draft.count(); k++) {
            int t = draft.tokens()[k];
            int max = 0;
            for (int x = 0; x < alphabet; x++) {
                max = Math.max(max, count(counts, append(path, x)));
            }
            int c = count(counts, append(path, t));
            assertEquals(max, c, "each draft token is a most frequent continuation");
            prob *= (float) c / count(counts, path);
            assertTrue(prob >= minProb, "each draft token is likely enough");
            score += prob;
            path = append(path, t);
        }
        assertEquals(score, draft.score(), 1e-5);
    }

    static int count(Map<Long, Integer> counts, int[] path) {
        long key = 0;
        for (int t : path) {
            key = key * BASE + t + 1;
        }
        return counts.getOrDefault(key, 0);
    }

    static int[] append(int[] path, int t) {
        int[] out = Arrays.copyOf(path, path.length + 1);
        out[path.length] = t;
        return out;
    }

    static int[] unpack(long key) {
        int[] reversed = new int[16];
        int n = 0;
        for (; key > 0; key /= BASE) {
            reversed[n++] = (int) (key % BASE) - 1;
        }
        int[] path = new int[n];
        for (int i = 0; i < n; i++) {
            path[i] = reversed[n - 1 - i];
        }
        return path;
    }

    static List<Integer> lengthsOf(List<int[]> seqs) {
        return seqs.stream().map(s -> s.length).toList();
    }

    static int[] sequence(Random random, int length, int alphabet) {
        return random.ints(length, 0, alphabet).toArray();
    }

    /** {@code base} with a few tokens changed, so that sequences share runs. */
    static int[] mutated(int[] base, Random random, int alphabet, int changes) {
        int[] s = base.clone();
        for (int k = 0; k < changes; k++) {
            s[random.nextInt(s.length)] = random.nextInt(alphabet);
        }
        return s;
    }
}
