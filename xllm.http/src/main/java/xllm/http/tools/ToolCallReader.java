package xllm.http.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import xllm.api.ToolCall;
import xllm.http.response.Json;

/**
 * Reads Hermes-style tool calls ({@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>}, as Qwen
 * and vLLM's {@code hermes} parser write them) out of a choice's text as it grows. Text before the first call is
 * content; text that may still turn out to start a call (part of the tag, or whitespace before it) is held back.
 * A call is shown as soon as its name is known and its arguments as they arrive, so the pieces of a stream add
 * up to what {@link #output()} gives for the whole text. Text between and after calls is dropped, as vLLM does.
 * A malformed call makes the whole text content in {@link #output()}; a stream cannot take back a call it has
 * shown, so it drops the rest instead. Request thread only.
 */
public final class ToolCallReader {
    private static final String OPEN = "<tool_call>";
    /** Up to the first character of the arguments' value. */
    private static final Pattern HEAD = Pattern.compile(
            "\\s*\\{\\s*\"name\"\\s*:\\s*(\"(?:[^\"\\\\]|\\\\.)*\")\\s*,\\s*\"arguments\"\\s*:\\s*");
    private static final Pattern CLOSE = Pattern.compile("\\s*}\\s*</tool_call>");
    private static final Pattern CLOSE_WITHOUT_TAG = Pattern.compile("\\s*}\\s*");

    private enum State { CONTENT, HEAD, ARGUMENTS, CLOSE, BETWEEN, PASS_THROUGH, DROP }

    private final StringBuilder all = new StringBuilder();
    private final StringBuilder content = new StringBuilder();
    private final StringBuilder pending = new StringBuilder();
    private final List<ToolCall> calls = new ArrayList<>();
    private State state = State.CONTENT;
    /** Whitespace between the content and the first call's tag: content again if the call turns out malformed. */
    private String whitespaceBeforeCall = "";
    private boolean malformed;
    private boolean shownAny;
    private String callId;
    private String callName;
    private final StringBuilder arguments = new StringBuilder();
    private int depth;
    private boolean inString;
    private boolean escaped;

    /** The whole of {@code text} read at once. */
    public static ToolCallOutput read(String text) {
        ToolCallReader reader = new ToolCallReader();
        List<ToolCallDelta> ignored = new ArrayList<>();
        reader.accept(text, ignored);
        reader.finish(ignored);
        return reader.output();
    }

    /** Takes the next piece of generated text; returns the content to show now and adds call deltas to {@code deltas}. */
    public String accept(String piece, List<ToolCallDelta> deltas) {
        all.append(piece);
        pending.append(piece);
        int shown = content.length();
        advance(deltas);
        return content.substring(shown);
    }

    /** No more text will come: returns the content still held and ends an open call as well as it can. */
    public String finish(List<ToolCallDelta> deltas) {
        int shown = content.length();
        advance(deltas);
        switch (state) {
            case HEAD, ARGUMENTS -> fail();
            case CLOSE -> {
                if (CLOSE_WITHOUT_TAG.matcher(pending).matches()) {
                    endCall();
                } else {
                    fail();
                }
            }
            default -> { }
        }
        if (state == State.CONTENT || state == State.PASS_THROUGH) {
            content.append(pending);
        }
        pending.setLength(0);
        return content.substring(shown);
    }

    /** Whether a call has been shown (a stream then ends with finish reason tool_calls). */
    public boolean calledAny() {
        return shownAny;
    }

    /** The finished output as a whole response shows it; call after {@link #finish}. */
    public ToolCallOutput output() {
        if (malformed) {
            return new ToolCallOutput(all.toString(), List.of());
        }
        return new ToolCallOutput(content.isEmpty() ? null : content.toString(), calls);
    }

    private void advance(List<ToolCallDelta> deltas) {
        boolean progressed = true;
        while (progressed) {
            progressed = switch (state) {
                case CONTENT -> content();
                case HEAD -> head(deltas);
                case ARGUMENTS -> arguments(deltas);
                case CLOSE -> close();
                case BETWEEN -> between();
                case PASS_THROUGH -> passThrough();
                case DROP -> drop();
            };
        }
    }

    private boolean content() {
        int tag = pending.indexOf(OPEN);
        if (tag >= 0) {
            int end = tag;
            while (end > 0 && Character.isWhitespace(pending.charAt(end - 1))) {
                end--;
            }
            content.append(pending, 0, end);
            whitespaceBeforeCall = pending.substring(end, tag);
            pending.delete(0, tag + OPEN.length());
            state = State.HEAD;
            return true;
        }
        int safe = pending.length() - heldTagStart();
        while (safe > 0 && Character.isWhitespace(pending.charAt(safe - 1))) {
            safe--;
        }
        content.append(pending, 0, safe);
        pending.delete(0, safe);
        return false;
    }

    private boolean head(List<ToolCallDelta> deltas) {
        Matcher m = HEAD.matcher(pending);
        if (!m.lookingAt()) {
            if (!m.hitEnd()) {
                fail();
                return true;
            }
            return false;
        }
        if (m.end() == pending.length()) {
            return false;
        }
        String name;
        try {
            name = Json.MAPPER.readValue(m.group(1), String.class);
        } catch (JsonProcessingException e) {
            fail();
            return true;
        }
        if (pending.charAt(m.end()) != '{') {
            fail();
            return true;
        }
        callId = "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        callName = name;
        deltas.add(new ToolCallDelta(calls.size(), callId, callName, ""));
        shownAny = true;
        pending.delete(0, m.end());
        arguments.setLength(0);
        depth = 0;
        inString = false;
        escaped = false;
        state = State.ARGUMENTS;
        return true;
    }

    /** Passes the arguments' JSON text on character by character until its outermost object closes. */
    private boolean arguments(List<ToolCallDelta> deltas) {
        int i = 0;
        boolean complete = false;
        while (i < pending.length() && !complete) {
            char c = pending.charAt(i++);
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                complete = --depth == 0;
            }
        }
        if (i > 0) {
            String piece = pending.substring(0, i);
            arguments.append(piece);
            deltas.add(new ToolCallDelta(calls.size(), null, null, piece));
            pending.delete(0, i);
        }
        if (complete) {
            state = State.CLOSE;
        }
        return complete;
    }

    private boolean close() {
        Matcher m = CLOSE.matcher(pending);
        if (m.lookingAt()) {
            pending.delete(0, m.end());
            endCall();
            return true;
        }
        if (!m.hitEnd()) {
            fail();
            return true;
        }
        return false;
    }

    private void endCall() {
        try {
            Json.MAPPER.readTree(arguments.toString());
        } catch (JsonProcessingException e) {
            fail();
            return;
        }
        calls.add(new ToolCall(callId, callName, arguments.toString()));
        callId = null;
        callName = null;
        state = State.BETWEEN;
    }

    private boolean between() {
        int tag = pending.indexOf(OPEN);
        if (tag >= 0) {
            pending.delete(0, tag + OPEN.length());
            state = State.HEAD;
            return true;
        }
        pending.delete(0, pending.length() - heldTagStart());
        return false;
    }

    private boolean passThrough() {
        content.append(pending);
        pending.setLength(0);
        return false;
    }

    private boolean drop() {
        pending.setLength(0);
        return false;
    }

    /**
     * A call that is not well-formed. Before any call was shown the stream goes on as plain content, so that
     * it adds up to the whole text; after one, the rest is dropped.
     */
    private void fail() {
        malformed = true;
        if (!shownAny) {
            content.append(whitespaceBeforeCall).append(OPEN);
            state = State.PASS_THROUGH;
        } else {
            state = State.DROP;
        }
    }

    /** How many characters at the end of the pending text could begin the opening tag. */
    private int heldTagStart() {
        String tail = pending.substring(Math.max(0, pending.length() - (OPEN.length() - 1)));
        for (int len = tail.length(); len > 0; len--) {
            if (tail.regionMatches(tail.length() - len, OPEN, 0, len)) {
                return len;
            }
        }
        return 0;
    }
}
