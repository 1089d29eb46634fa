package xllm.http.request;

/** Whether and how the model must call a tool, as {@code tool_choice} says. */
public enum ToolChoice {
    /** Tools are neither offered nor read from the output. */
    NONE,
    /** Tools are offered; the model decides, and its calls are read from the output. */
    AUTO,
    /** The output is constrained to one or more calls of the offered tools. */
    REQUIRED,
    /** The output is constrained to calls of one named tool. */
    NAMED
}
