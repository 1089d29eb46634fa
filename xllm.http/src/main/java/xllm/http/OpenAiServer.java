package xllm.http;

import io.helidon.common.tls.Tls;
import io.helidon.http.DirectHandler.EventType;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Duration;
import java.util.Objects;
import xllm.api.InferenceService;
import xllm.api.JobService;
import xllm.api.WorkerPool;
import xllm.api.ServiceException;
import xllm.http.connection.ConnectionGate;
import xllm.http.connection.RequestDeadlines;
import xllm.http.connection.TransportErrors;
import xllm.http.endpoint.GenerationEndpoint;
import xllm.http.endpoint.JobsEndpoint;
import xllm.http.endpoint.ModelsEndpoint;
import xllm.http.endpoint.NodeChannelEndpoint;
import xllm.http.endpoint.NodesEndpoint;
import xllm.http.endpoint.PlaygroundEndpoint;
import xllm.http.endpoint.ProbeEndpoint;
import xllm.http.endpoint.RequestLog;
import xllm.http.endpoint.ServedModel;
import xllm.http.endpoint.SleepEndpoint;
import xllm.http.endpoint.TokenizeEndpoint;
import xllm.http.endpoint.WorkersEndpoint;
import xllm.http.request.BodyReader;

/**
 * The OpenAI-compatible HTTP server over one {@link InferenceService}, on Helidon Nima: each request runs
 * on its own virtual thread with plain blocking code. Thread-safe; {@link #close()} stops it.
 */
public final class OpenAiServer implements AutoCloseable {
    /** How often idle connections are looked for; they close within this of their keep-alive timeout. */
    private static final Duration IDLE_CHECK_PERIOD = Duration.ofSeconds(1);

    private final WebServer server;
    private final RequestDeadlines deadlines;

    private OpenAiServer(WebServer server, RequestDeadlines deadlines) {
        this.server = server;
        this.deadlines = deadlines;
    }

    /** Binds and starts serving; returns once the port is open. */
    public static OpenAiServer start(InferenceService service, ServerOptions options) {
        return start(service, null, null, options);
    }

    /**
     * Binds and starts serving, with offline jobs when {@code jobs} is not null (whose runner this starts)
     * and the workers behind a router when {@code workers} is not null; returns once the port is open.
     */
    public static OpenAiServer start(InferenceService service, JobService jobs, WorkerPool workers, ServerOptions options) {
        return start(service, ServedParts.none().withJobs(jobs).withWorkers(workers), options);
    }

    /**
     * Binds and starts serving {@code service} and the {@code parts} present; returns once the port is open. A
     * TLS file that cannot be read is an {@link IllegalArgumentException} naming it.
     */
    public static OpenAiServer start(InferenceService service, ServedParts parts, ServerOptions options) {
        Objects.requireNonNull(service, "service");
        Tls tls = options.tls() == null ? null : options.tls().serverTls();
        ConnectionLimits limits = options.limits();
        RequestDeadlines deadlines = new RequestDeadlines(limits.headerTimeout());
        Http1Config http1 = Http1Config.builder()
                .maxPrologueLength(ConnectionLimits.MAX_REQUEST_LINE_BYTES)
                .maxHeadersSize(ConnectionLimits.MAX_HEADER_BYTES)
                .addReceiveListener(deadlines)
                .addSendListener(deadlines)
                .build();
        WebServerConfig.Builder builder = WebServer.builder()
                .host(options.host())
                .port(options.port())
                .shutdownHook(false)
                // Streamed tokens are small writes; Nagle's algorithm would hold each one back for an ACK.
                .connectionOptions(socket -> socket.tcpNoDelay(true))
                // HTTP/1 through the gate alone: with one selector Helidon hands it each connection as it is
                // accepted, so that even a client that sends nothing is counted and timed
                .protocolsDiscoverServices(false)
                .addConnectionSelector(new ConnectionGate(Http1ConnectionSelector.builder().config(http1).build(), deadlines,
                        limits.maxConnections()))
                .idleConnectionTimeout(limits.keepAliveTimeout())
                .idleConnectionPeriod(IDLE_CHECK_PERIOD)
                // Helidon's own messages reach TransportErrors, which tells oversized headers by theirs
                .errorHandling(errors -> errors.includeEntity(true))
                .directHandlers(transportErrors())
                .routing(routing -> routes(routing, service, parts, options, deadlines));
        if (tls != null) {
            builder.tls(tls);
        }
        try {
            return new OpenAiServer(builder.build().start(), deadlines);
        } catch (RuntimeException e) {
            deadlines.close();
            throw e;
        }
    }

    private static DirectHandlers transportErrors() {
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        TransportErrors errors = new TransportErrors();
        for (EventType type : EventType.values()) {
            handlers.addHandler(type, errors);
        }
        return handlers.build();
    }

    /** The bound port; the chosen one when the options asked for port 0. */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
        deadlines.close();
    }

    private static void routes(HttpRouting.Builder routing, InferenceService service, ServedParts parts, ServerOptions options,
                               RequestDeadlines deadlines) {
        JobService jobs = parts.jobs();
        ServedModel model = new ServedModel(service, options.servedModelName());
        BodyReader bodies = new BodyReader(options.maxBodyBytes(), deadlines);
        RequestLog log = new RequestLog(options.logRequests());
        GenerationEndpoint completions = GenerationEndpoint.completions(service, model, bodies, log);
        GenerationEndpoint chat = GenerationEndpoint.chat(service, model, bodies, log);
        ModelsEndpoint models = new ModelsEndpoint(model);
        TokenizeEndpoint tokenizer = new TokenizeEndpoint(service, model, bodies);
        ProbeEndpoint probes = new ProbeEndpoint(service);
        PlaygroundEndpoint playground = new PlaygroundEndpoint();
        String key = options.apiKey();
        if (jobs != null) {
            JobsEndpoint jobsEndpoint = new JobsEndpoint(jobs, completions, bodies, service::healthy);
            jobs.start(jobsEndpoint);
            routing.post("/v1/jobs", new GuardedHandler(jobsEndpoint::submit, key, service))
                    .get("/v1/jobs/{id}", new GuardedHandler(jobsEndpoint::status, key, null));
        }
        routing.get("/admin/workers", new GuardedHandler(new WorkersEndpoint(parts.workers())::handle, key, null));
        if (parts.nodes() != null) {
            routing.get("/admin/nodes", new GuardedHandler(new NodesEndpoint(parts.nodes())::handle, key, null));
        }
        if (parts.sleep() != null) {
            SleepEndpoint sleep = new SleepEndpoint(parts.sleep());
            routing.post("/sleep", new GuardedHandler(sleep::sleep, key, null))
                    .post("/wake_up", new GuardedHandler(sleep::wakeUp, key, null))
                    .get("/is_sleeping", new GuardedHandler(sleep::isSleeping, key, null));
        }
        if (parts.channel() != null) {
            routing.post("/internal/generate", new GuardedHandler(new NodeChannelEndpoint(parts.channel(), bodies)::handle, key, service));
        }
        routing
                // the page asks for the key itself; it must load without one, even while the model loads
                .get("/", new GuardedHandler(playground::page, null, null))
                .get("/static/{file}", new GuardedHandler(playground::file, null, null))
                .get("/health", new GuardedHandler(probes::health, null, null))
                .get("/metrics", new GuardedHandler(probes::metrics, null, null))
                .get("/v1/models", new GuardedHandler(models::handle, key, service))
                .post("/v1/completions", new GuardedHandler(completions::handle, key, service))
                .post("/v1/chat/completions", new GuardedHandler(chat::handle, key, service))
                .post("/tokenize", new GuardedHandler(tokenizer::tokenize, null, service))
                .post("/detokenize", new GuardedHandler(tokenizer::detokenize, null, service))
                .any(new GuardedHandler(OpenAiServer::notFound, null, null));
    }

    private static void notFound(ServerRequest req, ServerResponse res) {
        throw new ServiceException(ServiceException.Kind.NOT_FOUND,
                "no route for " + req.prologue().method().text() + " " + req.path().path(), null);
    }
}
