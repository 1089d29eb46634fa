package xllm.http.tools;

/**
 * What a stream shows of one tool call at a time: its start (id and name, once the name is known) or a piece
 * of its arguments' JSON text.
 *
 * @param index the call's place among the choice's calls, from 0
 * @param id the call's id in the start delta; null in an arguments delta
 * @param name the function's name in the start delta; null in an arguments delta
 * @param arguments the next piece of the arguments' text; empty in the start delta
 */
public record ToolCallDelta(int index, String id, String name, String arguments) {
    public boolean starts() {
        return id != null;
    }
}
