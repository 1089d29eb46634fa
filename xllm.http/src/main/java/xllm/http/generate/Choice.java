package xllm.http.generate;

import java.util.ArrayList;
import java.util.List;
import xllm.api.FinishReason;
import xllm.api.InferenceService;
import xllm.http.request.Prompt;
import xllm.http.tools.ToolCallDelta;
import xllm.http.tools.ToolCallReader;

/**
 * One choice of a response: one engine request, its detokenizer and stop strings, the reader of its tool
 * calls when the output holds them, and the text shown so far. Turns the tokens the engine has published into
 * {@link ChoiceStep}s. Request thread only.
 */
public final class Choice {
    private final int index;
    private final String requestId;
    private final Prompt prompt;
    private final TokenLog log;
    private final InferenceService service;
    private final InferenceService.TextStream detokenizer;
    private final StopStrings stops;
    private final int[] endTokenIds;
    private final ToolCallReader toolCalls;
    private final StringBuilder text = new StringBuilder();
    private int consumed;
    private FinishReason finishReason;

    /**
     * @param endTokenIds tokens that end the generation and whose text is not shown (end-of-sequence
     *     unless ignored, and the client's stop_token_ids)
     * @param toolCalls reads tool calls out of the text, or null when the output is shown as it is
     */
    public Choice(int index, String requestId, Prompt prompt, TokenLog log, InferenceService service,
            StopStrings stops, int[] endTokenIds, ToolCallReader toolCalls) {
        this.index = index;
        this.requestId = requestId;
        this.prompt = prompt;
        this.log = log;
        this.service = service;
        this.detokenizer = service.newTextStream();
        this.stops = stops;
        this.endTokenIds = endTokenIds.clone();
        this.toolCalls = toolCalls;
    }

    /**
     * Takes in what the engine published since the last call; null when there was nothing. When a stop
     * string shows up, the engine request is aborted and the choice ends with {@link FinishReason#STOP}.
     */
    public ChoiceStep advance() {
        if (finishReason != null) {
            return null;
        }
        boolean engineDone = log.finished();
        int end = log.count();
        if (end == consumed && !engineDone) {
            return null;
        }
        int from = consumed;
        StringBuilder delta = new StringBuilder();
        while (consumed < end && !stops.matched()) {
            int token = log.token(consumed++);
            if (!isEndToken(token)) {
                delta.append(stops.accept(detokenizer.next(token)));
            }
        }
        FinishReason finish = null;
        if (stops.matched()) {
            finish = FinishReason.STOP;
            if (!engineDone) {
                service.abort(requestId);
            }
        } else if (engineDone) {
            delta.append(stops.accept(detokenizer.flush()));
            delta.append(stops.release());
            finish = stops.matched() ? FinishReason.STOP : log.finishReason();
        }
        finishReason = finish;
        List<ToolCallDelta> calls = new ArrayList<>();
        String shown = delta.toString();
        if (toolCalls != null) {
            shown = toolCalls.accept(shown, calls);
            if (finish != null) {
                shown += toolCalls.finish(calls);
            }
        }
        text.append(shown);
        return new ChoiceStep(this, shown, from, consumed, finish, calls);
    }

    public int index() {
        return index;
    }

    public String requestId() {
        return requestId;
    }

    public Prompt prompt() {
        return prompt;
    }

    public TokenLog log() {
        return log;
    }

    /** The reader of this choice's tool calls, or null when its output is not read for them. */
    public ToolCallReader toolCalls() {
        return toolCalls;
    }

    /** All text shown so far (the content, when tool calls are read). */
    public String text() {
        return text.toString();
    }

    public int textLength() {
        return text.length();
    }

    /** Tokens this choice has taken in; after a stop string, the tokens up to the one that completed it. */
    public int completionTokens() {
        return consumed;
    }

    /** Why the choice ended; null while it goes on. */
    public FinishReason finishReason() {
        return finishReason;
    }

    private boolean isEndToken(int token) {
        for (int id : endTokenIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }
}
