package xllm.http.endpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import xllm.api.InferenceService;
import xllm.http.generate.Choice;
import xllm.http.generate.GenerationRun;
import xllm.http.request.GenerationSpec;
import xllm.http.request.Prompt;
import xllm.http.request.BodyReader;
import xllm.http.request.RequestFields;
import xllm.http.response.ErrorResponse;
import xllm.http.response.Json;
import xllm.http.response.ResponseHead;
import xllm.http.response.SseStream;
import xllm.http.response.UsageJson;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: validate, tokenize, submit every
 * choice, then answer with one JSON response or a server-sent-events stream. Runs on the request's
 * virtual thread, which blocks (parks) while the engine works. A client that disconnects mid-stream gets
 * its engine requests aborted.
 */
public final class GenerationEndpoint {
    private static final System.Logger LOG = System.getLogger(GenerationEndpoint.class.getName());

    private final InferenceService service;
    private final ServedModel model;
    private final GenerationApi api;
    private final BodyReader bodies;
    private final RequestLog log;

    private GenerationEndpoint(InferenceService service, ServedModel model, GenerationApi api, BodyReader bodies, RequestLog log) {
        this.service = service;
        this.model = model;
        this.api = api;
        this.bodies = bodies;
        this.log = log;
    }

    public static GenerationEndpoint completions(InferenceService service, ServedModel model, BodyReader bodies, RequestLog log) {
        return new GenerationEndpoint(service, model, new CompletionsApi(), bodies, log);
    }

    public static GenerationEndpoint chat(InferenceService service, ServedModel model, BodyReader bodies, RequestLog log) {
        return new GenerationEndpoint(service, model, new ChatApi(), bodies, log);
    }

    public void handle(ServerRequest req, ServerResponse res) throws IOException {
        RequestFields f = bodies.read(req);
        model.check(f);
        GenerationSpec spec = GenerationSpec.parse(f, api.chat(), service);
        List<Prompt> prompts = api.prompts(f, spec, service);
        String id = api.idPrefix() + UUID.randomUUID().toString().replace("-", "");
        log.request(id, f);
        ResponseHead head = new ResponseHead(id, System.currentTimeMillis() / 1000, model.name(), spec.serviceTier());
        try (GenerationRun run = GenerationRun.submit(service, id, prompts, spec, api.inputField())) {
            if (spec.stream()) {
                stream(run, spec, head, res);
            } else {
                respond(run, spec, head, res);
            }
        }
    }

    /**
     * The whole non-streamed response to one request body, for an offline job: the generation runs under
     * {@code requestId}, the same on every run of this job request, so a router can resume it.
     */
    public ObjectNode complete(RequestFields f, String requestId) throws IOException {
        model.check(f);
        GenerationSpec spec = GenerationSpec.parse(f, api.chat(), service);
        RequestFields.require(!spec.stream(), "stream", "job requests cannot stream; leave stream unset");
        List<Prompt> prompts = api.prompts(f, spec, service);
        ResponseHead head = new ResponseHead(api.idPrefix() + requestId, System.currentTimeMillis() / 1000, model.name(),
                spec.serviceTier());
        log.request(head.id(), f);
        try (GenerationRun run = GenerationRun.submit(service, requestId, prompts, spec, api.inputField())) {
            return body(run, spec, head);
        }
    }

    private void respond(GenerationRun run, GenerationSpec spec, ResponseHead head, ServerResponse res)
            throws IOException {
        ObjectNode body = body(run, spec, head);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(Json.bytes(body));
    }

    private ObjectNode body(GenerationRun run, GenerationSpec spec, ResponseHead head) throws IOException {
        run.forEachStep(step -> { });
        ObjectNode body = head.body(api.responseObject());
        ArrayNode choices = body.putArray("choices");
        for (Choice choice : run.choices()) {
            choices.add(api.finalChoice(choice, spec, service));
        }
        body.set("usage", UsageJson.of(run.usage()));
        log.outputs(head.id(), run);
        return body;
    }

    /** Once the stream has begun, a failure can only be told as a last event, as vLLM does. */
    private void stream(GenerationRun run, GenerationSpec spec, ResponseHead head, ServerResponse res) {
        try (SseStream sse = new SseStream(res)) {
            try {
                streamChunks(run, spec, head, sse);
                log.outputs(head.id(), run);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "stream " + head.id() + " failed", e);
                sse.send(ErrorResponse.body(500, "InternalServerError", "internal error: " + e, null));
            }
            sse.done();
        } catch (IOException e) {
            // The run's close aborts every choice still generating.
            LOG.log(System.Logger.Level.DEBUG, () -> "client left during stream " + head.id() + ": " + e);
        }
    }

    private void streamChunks(GenerationRun run, GenerationSpec spec, ResponseHead head, SseStream sse)
            throws IOException {
        for (Choice choice : run.choices()) {
            ObjectNode opening = api.openingChoice(choice, spec);
            if (opening != null) {
                sse.send(chunk(head, opening));
            }
        }
        run.forEachStep(step -> {
            for (ObjectNode choice : api.stepChoices(step, spec, service)) {
                sse.send(chunk(head, choice));
            }
        });
        if (spec.includeUsage()) {
            ObjectNode last = head.body(api.chunkObject());
            last.putArray("choices");
            last.set("usage", UsageJson.of(run.usage()));
            sse.send(last);
        }
    }

    private ObjectNode chunk(ResponseHead head, ObjectNode choice) {
        ObjectNode chunk = head.body(api.chunkObject());
        chunk.putArray("choices").add(choice);
        return chunk;
    }
}
