package xllm.sched.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.agrona.collections.IntArrayList;

/**
 * The router's requests in flight, found by key on every event without boxing or hashing: a key is a slot
 * index (low 32 bits) and that slot's reuse count (high 32 bits), so a late event for an ended request
 * never reaches the request that reuses its slot. Also found by request id, for aborts. Thread-safe.
 */
final class FlightTable {
    private final AtomicReferenceArray<Flight> slots;
    private final int[] generations;
    private final IntArrayList free = new IntArrayList();
    private final ConcurrentHashMap<String, Flight> byId = new ConcurrentHashMap<>();

    FlightTable(int capacity) {
        this.slots = new AtomicReferenceArray<>(capacity);
        this.generations = new int[capacity];
        for (int i = capacity - 1; i >= 0; i--) {
            free.addInt(i);
        }
    }

    /** A fresh key, or -1 when every slot is taken. */
    synchronized long reserve() {
        if (free.isEmpty()) {
            return -1;
        }
        int slot = free.removeAt(free.size() - 1);
        return ((long) ++generations[slot] << 32) | slot;
    }

    /** Frees a reserved key that was never used. */
    synchronized void release(long key) {
        free.addInt((int) key);
    }

    /** Adds a flight under its reserved key; false when its request id is already in flight. */
    boolean add(Flight flight) {
        if (byId.putIfAbsent(flight.request.requestId(), flight) != null) {
            return false;
        }
        slots.set((int) flight.key, flight);
        return true;
    }

    Flight get(long key) {
        Flight f = slots.get((int) key);
        return f != null && f.key == key ? f : null;
    }

    Flight byId(String requestId) {
        return byId.get(requestId);
    }

    void remove(Flight flight) {
        byId.remove(flight.request.requestId(), flight);
        if (slots.compareAndSet((int) flight.key, flight, null)) {
            release(flight.key);
        }
    }

    /** The flights now held by {@code worker}. */
    List<Flight> on(int worker) {
        List<Flight> out = new ArrayList<>();
        for (Flight f : byId.values()) {
            if (f.worker() == worker) {
                out.add(f);
            }
        }
        return out;
    }

    /** Every flight, at one moment. */
    List<Flight> all() {
        return new ArrayList<>(byId.values());
    }

    int size() {
        return byId.size();
    }
}
