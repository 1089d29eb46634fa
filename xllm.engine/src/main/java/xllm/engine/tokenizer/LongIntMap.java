package xllm.engine.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing map from long keys to non-negative ints, for the hot BPE lookups (token pair
 * packed as {@code left << 32 | right} -> merge rank, code point -> id) without boxing.
 * Filled while loading, read-only afterwards; safe to share once published.
 */
final class LongIntMap {
    private static final int EMPTY = -1;

    private final long[] keys;
    private final int[] values;
    private final int mask;

    LongIntMap(int expectedSize) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedSize) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(values, EMPTY);
        mask = capacity - 1;
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** Stores {@code value} (>= 0), replacing any previous value. The map never grows past its sizing. */
    void put(long key, int value) {
        int slot = slot(key);
        while (values[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = value;
    }

    /** The value for {@code key}, or -1. */
    int get(long key) {
        int slot = slot(key);
        while (true) {
            int v = values[slot];
            if (v == EMPTY || keys[slot] == key) {
                return v;
            }
            slot = (slot + 1) & mask;
        }
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29) ^ (h >>> 47)) & mask;
    }
}
