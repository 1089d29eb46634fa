package xllm.cli.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import xllm.api.StructuredOutput;
import xllm.engine.grammar.Constraints;
import xllm.engine.grammar.Grammar;
import xllm.engine.grammar.GrammarMatcher;
import xllm.engine.grammar.TokenMasks;
import xllm.engine.grammar.VocabularyTrie;

/**
 * How fast a constraint compiles and masks a vocabulary: compile time (constraint to grammar, uncached),
 * and the mask time per generated token along random walks through the constraint (each step draws one of
 * the allowed tokens), both as the engine serves masks (kept per automaton state) and computed afresh.
 */
public final class GrammarBenchmark {
    private GrammarBenchmark() {
    }

    /** The report, one figure per line. */
    public static String run(StructuredOutput constraint, VocabularyTrie vocabulary, long buildNanos, int walks,
            int maxTokens, long seed) {
        StringBuilder out = new StringBuilder();
        out.append(String.format("vocabulary: %d ids, %d trie nodes, built in %.1f ms%n", vocabulary.vocabSize(),
                vocabulary.nodeCount(), buildNanos / 1e6));
        int compiles = 50;
        long[] compile = new long[compiles];
        long c0 = System.nanoTime();
        Grammar grammar = Grammar.parse(Constraints.gbnf(constraint));
        long firstCompile = System.nanoTime() - c0;
        // compiled code first, as in a server that has compiled constraints before: the JIT's warm-up is not
        // the compiler's cost
        for (long until = System.nanoTime() + 2_000_000_000L; System.nanoTime() < until; ) {
            Grammar.parse(Constraints.gbnf(constraint));
        }
        for (int i = 0; i < compiles; i++) {
            long t0 = System.nanoTime();
            grammar = Grammar.parse(Constraints.gbnf(constraint));
            compile[i] = System.nanoTime() - t0;
        }
        out.append(String.format("compile: p50 %.3f ms, p99 %.3f ms (%d runs after 2 s of warm-up, %d grammar elements); "
                + "first, in a cold JVM: %.1f ms%n", percentile(compile, 50) / 1e6, percentile(compile, 99) / 1e6, compiles,
                grammar.size(), firstCompile / 1e6));

        TokenMasks masks = new TokenMasks(grammar, vocabulary);
        long[] scratch = new long[(vocabulary.vocabSize() + 63) >>> 6];
        List<Long> served = new ArrayList<>();
        List<Long> fresh = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(seed);
        int tokens = 0;
        int completed = 0;
        long t0 = System.nanoTime();
        long firstMask = -1;
        for (int w = 0; w < walks; w++) {
            GrammarMatcher matcher = new GrammarMatcher(masks);
            for (int step = 0; step < maxTokens; step++) {
                long s = System.nanoTime();
                long[] allowed = matcher.allowed();
                long e = System.nanoTime();
                served.add(e - s);
                if (firstMask < 0) {
                    firstMask = e - t0;
                }
                int token = draw(allowed, vocabulary.vocabSize(), random);
                if (token < 0) {
                    break;
                }
                if (!matcher.accept(token)) {
                    throw new IllegalStateException("the matcher refused a token its own mask allowed: " + token);
                }
                tokens++;
                if (matcher.finished() || (matcher.complete() && random.nextInt(4) == 0)) {
                    completed++;
                    break;
                }
            }
        }
        // the same states again, computed afresh: the cost of a state met for the first time
        GrammarMatcher replay = new GrammarMatcher(masks);
        SplittableRandom again = new SplittableRandom(seed);
        for (int i = 0; i < Math.min(tokens, 400); i++) {
            long s = System.nanoTime();
            masks.compute(replay.state(), scratch);
            fresh.add(System.nanoTime() - s);
            int token = draw(replay.allowed(), vocabulary.vocabSize(), again);
            if (token < 0 || !replay.accept(token) || replay.finished()) {
                replay = new GrammarMatcher(masks);
            }
        }
        long[] servedTimes = served.stream().mapToLong(Long::longValue).toArray();
        long[] freshTimes = fresh.stream().mapToLong(Long::longValue).toArray();
        out.append(String.format("first mask (cold start): %.3f ms%n", firstMask / 1e6));
        out.append(String.format("mask per token, as served: p50 %.1f us, p99 %.1f us, max %.1f us (%d tokens, %d walks, %d completed)%n",
                percentile(servedTimes, 50) / 1e3, percentile(servedTimes, 99) / 1e3, percentile(servedTimes, 100) / 1e3,
                tokens, walks, completed));
        out.append(String.format("mask per token, computed afresh: p50 %.1f us, p99 %.1f us (%d steps)%n",
                percentile(freshTimes, 50) / 1e3, percentile(freshTimes, 99) / 1e3, freshTimes.length));
        out.append(String.format("automaton states built: %d%n", masks.automaton().stateCount()));
        return out.toString();
    }

    /** A token drawn uniformly from the allowed ones, or -1 when none is. */
    private static int draw(long[] allowed, int vocab, SplittableRandom random) {
        int count = 0;
        for (long word : allowed) {
            count += Long.bitCount(word);
        }
        if (count == 0) {
            return -1;
        }
        int pick = random.nextInt(count);
        for (int w = 0; w < allowed.length; w++) {
            int bits = Long.bitCount(allowed[w]);
            if (pick < bits) {
                long word = allowed[w];
                for (int i = 0; i < pick; i++) {
                    word &= word - 1;
                }
                int id = (w << 6) + Long.numberOfTrailingZeros(word);
                return id < vocab ? id : -1;
            }
            pick -= bits;
        }
        return -1;
    }

    static long percentile(long[] values, int p) {
        if (values.length == 0) {
            return 0;
        }
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
