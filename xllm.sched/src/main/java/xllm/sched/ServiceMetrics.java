package xllm.sched;

import xllm.engine.scheduler.RequestMetrics;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import xllm.api.FinishReason;

/**
 * The service's Prometheus metrics, named as vLLM names them so that existing dashboards work.
 * Counters and histograms are written by engine threads and read by the metrics endpoint.
 */
public final class ServiceMetrics implements RequestMetrics {
    private static final double[] TTFT = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    private static final double[] ITL = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] LONG = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    final Histogram timeToFirstToken = new Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TTFT);
    final Histogram interTokenLatency = new Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", ITL);
    final Histogram e2eLatency = new Histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", LONG);
    final Histogram queueTime = new Histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", LONG);
    final LongAdder prefixCacheQueries = new LongAdder();
    final LongAdder prefixCacheHits = new LongAdder();
    final LongAdder preemptions = new LongAdder();
    final LongAdder offlinePreemptions = new LongAdder();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder generationTokens = new LongAdder();
    private final LongAdder[] success = new LongAdder[FinishReason.values().length];
    final LongAdder specDrafts = new LongAdder();
    final LongAdder specDraftTokens = new LongAdder();
    final LongAdder specAcceptedTokens = new LongAdder();
    /** Accepted drafts by their position in the draft; as many positions as the longest draft verified. */
    private final LongAdder[] specAcceptedAt = new LongAdder[64];
    private volatile int specPositions;
    private final StepTimes stepTimes = new StepTimes();

    private final String labels;
    private volatile DoubleSupplier running = () -> 0;
    private volatile DoubleSupplier waiting = () -> 0;
    private volatile DoubleSupplier kvUsage = () -> 0;
    private volatile Supplier<SpecDecodeCounts> specDecode = this::specDecodeCounts;

    public ServiceMetrics(String modelName) {
        this.labels = "model_name=\"" + modelName.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        for (int i = 0; i < success.length; i++) {
            success[i] = new LongAdder();
        }
        for (int i = 0; i < specAcceptedAt.length; i++) {
            specAcceptedAt[i] = new LongAdder();
        }
    }

    /** Where the gauges read their values; called once, when the engine or router is built. */
    public void gauges(DoubleSupplier running, DoubleSupplier waiting, DoubleSupplier kvUsage) {
        this.running = running;
        this.waiting = waiting;
        this.kvUsage = kvUsage;
    }

    /**
     * Where the spec_decode counters come from instead of this instance's own engine (a router sums its
     * workers'); called once, when the router is built.
     */
    public void specDecodeFrom(Supplier<SpecDecodeCounts> source) {
        this.specDecode = source;
    }

    /** What this instance's own engine has speculated so far. */
    public SpecDecodeCounts specDecodeCounts() {
        long[] at = new long[specPositions];
        for (int i = 0; i < at.length; i++) {
            at[i] = specAcceptedAt[i].sum();
        }
        return new SpecDecodeCounts(specDrafts.sum(), specDraftTokens.sum(), specAcceptedTokens.sum(), at);
    }

    /**
     * Forgets the requests counted so far: those a server sent through its own serving path to warm it up, all
     * ended by now. Step times are kept (they are the engine's, and warm). Not atomic against a request counted
     * meanwhile, which is one sent before the server reported healthy.
     */
    public void forgetWarmUp() {
        for (Histogram h : new Histogram[] {timeToFirstToken, interTokenLatency, e2eLatency, queueTime}) {
            h.reset();
        }
        for (LongAdder a : new LongAdder[] {prefixCacheQueries, prefixCacheHits, preemptions, offlinePreemptions, promptTokens,
                generationTokens, specDrafts, specDraftTokens, specAcceptedTokens}) {
            a.reset();
        }
        for (LongAdder a : success) {
            a.reset();
        }
        for (LongAdder a : specAcceptedAt) {
            a.reset();
        }
        specPositions = 0; // no per-position acceptance lines for drafts only the warm-up made
    }

    void finished(FinishReason reason) {
        success[reason.ordinal()].increment();
    }

    @Override
    public void scheduledFirst(long waitNanos) {
        queueTime.observeNanos(waitNanos);
    }

    @Override
    public void preempted() {
        preemptions.increment();
    }

    @Override
    public void offlinePreempted() {
        offlinePreemptions.increment();
    }

    /** A request's first token, {@code sinceArrivalNanos} after it arrived, for a prompt of {@code promptTokens}. */
    @Override
    public void firstToken(long sinceArrivalNanos, int promptTokens) {
        timeToFirstToken.observeNanos(sinceArrivalNanos);
        this.promptTokens.add(promptTokens);
        generationTokens.increment();
    }

    /** A later token, {@code gapNanos} after the one before it. */
    @Override
    public void nextToken(long gapNanos) {
        interTokenLatency.observeNanos(gapNanos);
        generationTokens.increment();
    }

    /** A request's end: its reason, its latency, and how much of its prompt came from the prefix cache. */
    @Override
    public void requestEnded(FinishReason reason, long e2eNanos, int promptTokens, int cachedPromptTokens) {
        finished(reason);
        e2eLatency.observeNanos(e2eNanos);
        prefixCacheQueries.add(promptTokens);
        prefixCacheHits.add(cachedPromptTokens);
    }

    @Override
    public void stepExecuted(int prefillTokens, int decodes, long decodeContextTokens, long nanos) {
        stepTimes.step(prefillTokens, decodes, decodeContextTokens, nanos);
    }

    /** The engine's recent step times, for a worker to report to its router. */
    public StepTimes stepTimes() {
        return stepTimes;
    }

    @Override
    public void speculated(int drafted, int accepted) {
        specDrafts.increment();
        specDraftTokens.add(drafted);
        specAcceptedTokens.add(accepted);
        for (int i = 0; i < accepted && i < specAcceptedAt.length; i++) {
            specAcceptedAt[i].increment();
        }
        if (drafted > specPositions) {
            specPositions = Math.min(drafted, specAcceptedAt.length); // only the engine thread writes it
        }
    }

    /** The Prometheus text exposition (format 0.0.4). */
    public String render() {
        StringBuilder out = new StringBuilder(8192);
        gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.", running.getAsDouble());
        gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", waiting.getAsDouble());
        gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kvUsage.getAsDouble());
        counter(out, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", prefixCacheQueries.sum());
        counter(out, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", prefixCacheHits.sum());
        counter(out, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", preemptions.sum());
        counter(out, "xllm:num_offline_preemptions", "Preemptions of offline requests (jobs, service_tier flex), counted in vllm:num_preemptions too.",
                offlinePreemptions.sum());
        counter(out, "vllm:prompt_tokens", "Number of prefill tokens processed.", promptTokens.sum());
        counter(out, "vllm:generation_tokens", "Number of generation tokens processed.", generationTokens.sum());
        PrometheusText.family(out, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
        for (FinishReason r : FinishReason.values()) {
            out.append("vllm:request_success_total{").append(labels).append(",finished_reason=\"").append(r.wireName())
                    .append("\"} ").append(success[r.ordinal()].sum()).append('\n');
        }
        SpecDecodeCounts spec = specDecode.get();
        counter(out, "vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", spec.drafts());
        counter(out, "vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", spec.draftTokens());
        counter(out, "vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", spec.acceptedTokens());
        PrometheusText.family(out, "vllm:spec_decode_num_accepted_tokens_per_pos_total", "counter", "Accepted tokens per draft position.");
        for (int i = 0; i < spec.acceptedAtPosition().length; i++) {
            out.append("vllm:spec_decode_num_accepted_tokens_per_pos_total{").append(labels).append(",position=\"").append(i)
                    .append("\"} ").append(spec.acceptedAtPosition()[i]).append('\n');
        }
        timeToFirstToken.render(out, labels);
        interTokenLatency.render(out, labels);
        e2eLatency.render(out, labels);
        queueTime.render(out, labels);
        return out.toString();
    }

    private void gauge(StringBuilder out, String name, String help, double value) {
        PrometheusText.family(out, name, "gauge", help);
        out.append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    private void counter(StringBuilder out, String name, String help, long value) {
        PrometheusText.family(out, name + "_total", "counter", help);
        out.append(name).append("_total{").append(labels).append("} ").append(value).append('\n');
    }
}
