package xllm.http;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import xllm.api.ChatMessage;
import xllm.api.StructuredOutput;
import xllm.api.FinishReason;
import xllm.api.GenerateRequest;
import xllm.api.InferenceService;
import xllm.api.Logprobs;
import xllm.api.ModelInfo;
import xllm.api.ServiceException;
import xllm.api.TokenSink;
import xllm.api.ToolCall;
import xllm.api.Usage;

/**
 * A deterministic stand-in for the engine service: one token per character, and generation that repeats
 * the prompt's tokens round and round until max_tokens. Tokens come from a single "engine" thread, one
 * per tick, like a real engine loop.
 */
final class EchoService implements InferenceService {
    static final int VOCAB = 1000;
    static final int MAX_MODEL_LEN = 128;
    static final int EOS = 2;

    final Set<String> aborted = ConcurrentHashMap.newKeySet();
    final Map<String, GenerateRequest> submitted = new ConcurrentHashMap<>();
    volatile boolean ready = true;
    volatile boolean overloaded;
    /** Makes tokenize fail the way a bug would. */
    volatile boolean broken;
    /** Makes detokenizing a generated token fail, after the stream has begun. */
    volatile boolean brokenTextStream;
    /** Delay between tokens; 0 emits them back to back. */
    volatile long tickMillis;
    /** The tools the last rendered chat offered. */
    volatile List<String> renderedTools = List.of();
    /** Refuses every constraint, as an engine refuses one it cannot compile. */
    volatile boolean refusesConstraints;
    private final int maxModelLength;

    EchoService() {
        this(MAX_MODEL_LEN);
    }

    EchoService(int maxModelLength) {
        this.maxModelLength = maxModelLength;
    }

    private final ScheduledExecutorService engine = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "echo-engine");
        t.setDaemon(true);
        return t;
    });

    @Override
    public ModelInfo model() {
        return new ModelInfo("echo", maxModelLength, VOCAB, 1_700_000_000L);
    }

    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public int[] tokenize(String text, boolean addSpecialTokens) {
        if (broken) {
            throw new IllegalStateException("tokenizer bug");
        }
        return text.chars().toArray();
    }

    @Override
    public String detokenize(int[] ids, boolean skipSpecialTokens) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(id < 32 ? "" : Character.toString(id));
        }
        return text.toString();
    }

    @Override
    public TextStream newTextStream() {
        return new TextStream() {
            @Override
            public String next(int tokenId) {
                if (brokenTextStream) {
                    throw new IllegalStateException("detokenizer bug");
                }
                return detokenize(new int[] {tokenId}, true);
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    /** Takes any constraint unless told otherwise: the echo service generates no tokens a grammar could refuse. */
    @Override
    public void checkStructuredOutput(StructuredOutput constraint) {
        if (refusesConstraints) {
            throw new ServiceException(ServiceException.Kind.INVALID_REQUEST,
                    constraint.kind() + " is not supported yet", null);
        }
    }

    /**
     * One line per turn, {@code role: content}, an assistant's calls as {@code [call name arguments]}; the
     * tools offered go last, so that the echoed output starts with the first turn.
     */
    @Override
    public String renderChat(List<ChatMessage> messages, List<String> tools, boolean addGenerationPrompt) {
        renderedTools = List.copyOf(tools);
        StringBuilder text = new StringBuilder();
        for (ChatMessage m : messages) {
            text.append(m.role()).append(": ").append(m.content());
            for (ToolCall call : m.toolCalls()) {
                text.append("[call ").append(call.name()).append(' ').append(call.arguments()).append(']');
            }
            if (m.toolCallId() != null) {
                text.append(" (for ").append(m.toolCallId()).append(')');
            }
            text.append('\n');
        }
        if (!tools.isEmpty()) {
            text.append("tools: ").append(tools.size()).append('\n');
        }
        return addGenerationPrompt ? text.append("assistant: ").toString() : text.toString();
    }

    @Override
    public int[] eosTokenIds() {
        return new int[] {EOS};
    }

    @Override
    public void submit(GenerateRequest request, TokenSink sink) {
        if (overloaded) {
            throw new ServiceException(ServiceException.Kind.OVERLOADED, "the waiting queue is full", null);
        }
        submitted.put(request.requestId(), request);
        engine.execute(() -> step(request, sink, 0));
    }

    @Override
    public void resume(GenerateRequest request, int[] emitted, TokenSink sink) {
        submitted.put(request.requestId(), request);
        engine.execute(() -> step(request, sink, emitted.length));
    }

    private void step(GenerateRequest request, TokenSink sink, int generated) {
        Usage usage = new Usage(request.promptLength(), generated, 0);
        if (aborted.contains(request.requestId())) {
            sink.onFinish(FinishReason.ABORT, usage);
            return;
        }
        int token = request.promptId(generated % request.promptLength());
        Logprobs logprobs = null;
        if (request.topLogprobs() >= 0) {
            logprobs = new Logprobs();
            logprobs.set(token, -0.5f);
            for (int i = 0; i < request.topLogprobs(); i++) {
                logprobs.addTop(token + i, -0.5f - i);
            }
        }
        sink.onToken(token, logprobs);
        int now = generated + 1;
        boolean eos = token == EOS && !request.params().ignoreEos() || request.params().isStopToken(token);
        if (eos || now >= request.params().maxTokens()) {
            sink.onFinish(eos ? FinishReason.STOP : FinishReason.LENGTH, new Usage(request.promptLength(), now, 0));
            return;
        }
        engine.schedule(() -> step(request, sink, now), tickMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void abort(String requestId) {
        aborted.add(requestId);
    }

    @Override
    public String metricsText() {
        return "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0\n";
    }
}
