package xllm.http;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Objects;
import xllm.api.InferenceService;
import xllm.api.JobService;
import xllm.api.WorkerPool;
import xllm.api.ServiceException;
import xllm.http.endpoint.GenerationEndpoint;
import xllm.http.endpoint.JobsEndpoint;
import xllm.http.endpoint.ModelsEndpoint;
import xllm.http.endpoint.NodeChannelEndpoint;
import xllm.http.endpoint.NodesEndpoint;
import xllm.http.endpoint.PlaygroundEndpoint;
import xllm.http.endpoint.ProbeEndpoint;
import xllm.http.endpoint.ServedModel;
import xllm.http.endpoint.SleepEndpoint;
import xllm.http.endpoint.TokenizeEndpoint;
import xllm.http.endpoint.WorkersEndpoint;

/**
 * The OpenAI-compatible HTTP server over one {@link InferenceService}, on Helidon Nima: each request runs
 * on its own virtual thread with plain blocking code. Thread-safe; {@link #close()} stops it.
 */
public final class OpenAiServer implements AutoCloseable {
    private final WebServer server;

    private OpenAiServer(WebServer server) {
        this.server = server;
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

    /** Binds and starts serving {@code service} and the {@code parts} present; returns once the port is open. */
    public static OpenAiServer start(InferenceService service, ServedParts parts, ServerOptions options) {
        Objects.requireNonNull(service, "service");
        WebServer server = WebServer.builder()
                .host(options.host())
                .port(options.port())
                .shutdownHook(false)
                // Streamed tokens are small writes; Nagle's algorithm would hold each one back for an ACK.
                .connectionOptions(socket -> socket.tcpNoDelay(true))
                .routing(routing -> routes(routing, service, parts, options))
                .build()
                .start();
        return new OpenAiServer(server);
    }

    /** The bound port; the chosen one when the options asked for port 0. */
    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.stop();
    }

    private static void routes(HttpRouting.Builder routing, InferenceService service, ServedParts parts, ServerOptions options) {
        JobService jobs = parts.jobs();
        ServedModel model = new ServedModel(service, options.servedModelName());
        long maxBody = options.maxBodyBytes();
        GenerationEndpoint completions = GenerationEndpoint.completions(service, model, maxBody);
        GenerationEndpoint chat = GenerationEndpoint.chat(service, model, maxBody);
        ModelsEndpoint models = new ModelsEndpoint(model);
        TokenizeEndpoint tokenizer = new TokenizeEndpoint(service, model, maxBody);
        ProbeEndpoint probes = new ProbeEndpoint(service);
        PlaygroundEndpoint playground = new PlaygroundEndpoint();
        String key = options.apiKey();
        if (jobs != null) {
            JobsEndpoint jobsEndpoint = new JobsEndpoint(jobs, completions, maxBody);
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
            routing.post("/internal/generate", new GuardedHandler(new NodeChannelEndpoint(parts.channel(), maxBody)::handle, key, service));
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
