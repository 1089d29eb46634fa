package xllm.engine.grammar;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.IntHashSet;
import org.agrona.collections.Long2LongHashMap;

/**
 * Runs a {@link Grammar} over bytes as a deterministic automaton built lazily: a state is the set of parse
 * stacks alive after the bytes so far (each stack a chain of interned frames, so equal stacks are one
 * object), and a transition, once computed, is a table lookup. States recur (inside a JSON string every
 * ordinary character leads back to the same state), so after warm-up a byte costs an array read.
 * Not thread-safe: one owner (an engine loop) at a time.
 */
public final class GrammarAutomaton {
    /** No state: the bytes so far are not a prefix of any sentence. */
    public static final int DEAD = -1;
    private static final int UNKNOWN = -2;
    /** The frame below the root rule: a stack down to it has matched a whole sentence. */
    private static final int ACCEPT = 0;

    private final Grammar grammar;

    private int[] framePos = new int[256];
    private int[] frameParent = new int[256];
    private int frames = 1;
    private final Long2LongHashMap frameIds = new Long2LongHashMap(-1);

    private int[][] stateFrames = new int[64][];
    private boolean[] accepting = new boolean[64];
    private boolean[] continuing = new boolean[64];
    private int states;
    private final Map<FrameSet, Integer> stateIds = new HashMap<>();
    private int[] transitions = new int[64 * 256];
    private final int start;

    private final IntArrayList work = new IntArrayList();
    private final IntHashSet visited = new IntHashSet();
    private final IntArrayList leaves = new IntArrayList();

    public GrammarAutomaton(Grammar grammar) {
        this.grammar = grammar;
        framePos[ACCEPT] = -1;
        for (int alt : grammar.alternatives[grammar.root]) {
            work.addInt(frame(alt, ACCEPT));
        }
        this.start = closeOver();
    }

    public int start() {
        return start;
    }

    /** The state after byte {@code b} (0..255) in {@code state}, or {@link #DEAD}. */
    public int next(int state, int b) {
        int t = transitions[state * 256 + b];
        if (t == UNKNOWN) {
            t = computeNext(state, b);
            transitions[state * 256 + b] = t;
        }
        return t;
    }

    /** Whether the bytes that led to {@code state} are a complete sentence. */
    public boolean accepting(int state) {
        return accepting[state];
    }

    /** Whether some byte may follow in {@code state}. */
    public boolean canContinue(int state) {
        return continuing[state];
    }

    /** States built so far: a measure of how much of the grammar's state space generation has touched. */
    public int stateCount() {
        return states;
    }

    private int computeNext(int state, int b) {
        for (int f : stateFrames[state]) {
            if (f != ACCEPT && grammar.matches(grammar.code[framePos[f]], b)) {
                work.addInt(frame(framePos[f] + 1, frameParent[f]));
            }
        }
        return work.isEmpty() ? DEAD : closeOver();
    }

    /**
     * Expands the frames in {@link #work} until every stack's top expects a byte (or the stack is done), and
     * returns the state of those stacks.
     */
    private int closeOver() {
        visited.clear();
        leaves.clear();
        while (!work.isEmpty()) {
            int f = work.removeAt(work.size() - 1);
            if (!visited.add(f)) {
                continue;
            }
            if (f == ACCEPT) {
                leaves.addInt(f);
                continue;
            }
            int pos = framePos[f];
            int element = grammar.code[pos];
            if (element == Grammar.END) {
                work.addInt(frameParent[f]);
            } else if (Grammar.isRule(element)) {
                // a rule last in its alternative returns straight to the caller's caller: loops written as
                // right recursion (star ::= x star | "") then keep a constant stack, and so recur as states
                int after = grammar.code[pos + 1] == Grammar.END ? frameParent[f] : frame(pos + 1, frameParent[f]);
                for (int alt : grammar.alternatives[Grammar.ruleOf(element)]) {
                    work.addInt(frame(alt, after));
                }
            } else {
                leaves.addInt(f);
            }
        }
        if (leaves.isEmpty()) {
            return DEAD;
        }
        int[] set = leaves.toIntArray();
        Arrays.sort(set);
        return state(set);
    }

    private int state(int[] set) {
        FrameSet key = new FrameSet(set);
        Integer id = stateIds.get(key);
        if (id != null) {
            return id;
        }
        int s = states++;
        if (s == stateFrames.length) {
            int n = s * 2;
            stateFrames = Arrays.copyOf(stateFrames, n);
            accepting = Arrays.copyOf(accepting, n);
            continuing = Arrays.copyOf(continuing, n);
            int old = transitions.length;
            transitions = Arrays.copyOf(transitions, n * 256);
            Arrays.fill(transitions, old, transitions.length, UNKNOWN);
        }
        if (s == 0) {
            Arrays.fill(transitions, UNKNOWN);
        }
        stateFrames[s] = set;
        accepting[s] = set[0] == ACCEPT;
        continuing[s] = set[set.length - 1] != ACCEPT;
        stateIds.put(key, s);
        return s;
    }

    private int frame(int pos, int parent) {
        long key = ((long) pos << 32) | (parent & 0xFFFFFFFFL);
        long id = frameIds.get(key);
        if (id >= 0) {
            return (int) id;
        }
        if (frames == framePos.length) {
            framePos = Arrays.copyOf(framePos, frames * 2);
            frameParent = Arrays.copyOf(frameParent, frames * 2);
        }
        framePos[frames] = pos;
        frameParent[frames] = parent;
        frameIds.put(key, frames);
        return frames++;
    }

    private record FrameSet(int[] frames) {
        @Override
        public boolean equals(Object o) {
            return o instanceof FrameSet other && Arrays.equals(frames, other.frames);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(frames);
        }
    }
}
