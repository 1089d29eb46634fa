package xllm.sched.cluster;

import java.util.List;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.Logprobs;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.Usage;
import xllm.sched.ServiceMetrics;

/**
 * The router's requests in flight, kept in step with its journal: admitting one journals it, each token
 * its client gets is journaled, and ending one drops it from both. Thread-safe: request threads admit,
 * event threads relay, the supervisor ends; each flight's own lock orders what its client sees.
 */
final class JournaledFlights {
    private static final int MAX_FLIGHTS = 1 << 16;

    private final FlightTable table = new FlightTable(MAX_FLIGHTS);
    private final Journal journal;

    JournaledFlights(Journal journal) {
        this.journal = journal;
    }

    /** The new flight of {@code request}; null when a request with its id is already in flight. */
    Flight admit(GenerateRequest request, boolean offline, TokenSink sink, ServiceMetrics metrics) {
        long key = table.reserve();
        if (key < 0) {
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the router tracks too many requests; retry later", null);
        }
        Flight flight = new Flight(key, request, sink, metrics);
        if (!table.add(flight)) {
            table.release(key);
            return null;
        }
        journal.admitted(key, request, offline);
        return flight;
    }

    /** Gives a new flight the output another instance produced before it came here, journaled as progress. */
    void continueAfter(Flight flight, int[] emitted) {
        flight.continueAfter(emitted);
        for (int token : emitted) {
            journal.progress(flight.key, token);
        }
    }

    /** Passes a worker's token to its client if the flight still runs there and lacks that position. */
    void token(int worker, long key, int position, int token, Logprobs logprobs) {
        Flight flight = table.get(key);
        if (flight != null && flight.token(worker, position, token, logprobs)) {
            journal.progress(key, token);
        }
    }

    /** Ends the flight under {@code key} as {@code worker} reports; false when that worker no longer holds it. */
    boolean finished(int worker, long key, FinishReason reason, Usage usage) {
        Flight flight = table.get(key);
        if (flight == null || !flight.finish(worker, reason, usage)) {
            return false;
        }
        forget(flight);
        return true;
    }

    /** Ends a flight here, with the tokens its client has. */
    void end(Flight flight, FinishReason reason) {
        if (flight.finishHere(reason)) {
            forget(flight);
        }
    }

    private void forget(Flight flight) {
        journal.done(flight.key);
        table.remove(flight);
    }

    Flight byKey(long key) {
        return table.get(key);
    }

    Flight byId(String requestId) {
        return table.byId(requestId);
    }

    /** The flights now held by {@code worker}. */
    List<Flight> on(int worker) {
        return table.on(worker);
    }

    List<Flight> all() {
        return table.all();
    }

    int size() {
        return table.size();
    }
}
