package xllm.sched.cluster;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.Usage;

/**
 * The event thread of one worker, the only reader of its event queue: relays its tokens and ends to the
 * clients through the flights, its heartbeats to the watchdog (and their cache changes to the KV index), and
 * its KV handoffs to the router. Reads the queue from its start, which the router emptied before starting any
 * worker.
 */
final class EventRelay implements Runnable, MessageCodec.WorkerMessages {
    private final WorkerLink link;
    private final JournaledFlights flights;
    private final FlightRouter router;
    private final HeartbeatWatchdog watchdog;
    private final KvIndex index;
    private final BooleanSupplier closing;
    private final Logprobs logprobs = new Logprobs();

    EventRelay(WorkerLink link, JournaledFlights flights, FlightRouter router, HeartbeatWatchdog watchdog, KvIndex index,
               BooleanSupplier closing) {
        this.link = link;
        this.index = index;
        this.router = router;
        this.flights = flights;
        this.watchdog = watchdog;
        this.closing = closing;
    }

    @Override
    public void run() {
        ExcerptTailer tailer = link.events.tailer();
        Consumer<Bytes<?>> reader = in -> MessageCodec.readWorkerMessage(in, logprobs, this);
        while (!closing.getAsBoolean()) {
            try {
                link.events.readOrAwait(tailer, reader);
            } catch (RuntimeException e) {
                if (closing.getAsBoolean()) {
                    return;
                }
                System.err.println("xllm: event from worker " + link.id + " failed: " + e);
            }
        }
    }

    @Override
    public void token(long key, int position, int token, Logprobs logprobs) {
        flights.token(link.id, key, position, token, logprobs);
    }

    @Override
    public void finished(long key, FinishReason reason, Usage usage) {
        if (flights.finished(link.id, key, reason, usage)) {
            link.assigned.decrementAndGet();
        }
    }

    @Override
    public void heartbeat(Heartbeat heartbeat) {
        if (watchdog.received(link, heartbeat)) {
            index.apply(link.id, heartbeat.cache());
        }
    }

    @Override
    public void handedOff(long key, KvSource source) {
        router.handedOff(link, key, source);
    }

    @Override
    public void kvReceived(long key, int sourceWorker, long sourcePid, String requestId, long bytes, long nanos) {
        router.kvReceived(key, sourceWorker, sourcePid, requestId, bytes, nanos);
    }
}
