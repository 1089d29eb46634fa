package xllm.engine.tokenizer;

import java.util.Arrays;

/**
 * Binary min-heap of candidate merges packed as {@code rank << 32 | position}, so the lowest rank
 * and then the leftmost position comes first, as in HF. One per word being merged; not thread-safe.
 */
final class MergeQueue {
    private long[] heap;
    private int size;

    MergeQueue(int capacity) {
        heap = new long[Math.max(capacity, 4)];
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(int rank, int position) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        long v = ((long) rank << 32) | position;
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= v) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = v;
    }

    long pop() {
        long top = heap[0];
        long last = heap[--size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (last <= heap[child]) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return top;
    }
}
