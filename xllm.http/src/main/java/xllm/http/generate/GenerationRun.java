package xllm.http.generate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import xllm.api.GenerateRequest;
import xllm.api.InferenceService;
import xllm.api.Usage;
import xllm.http.request.GenerationSpec;
import xllm.http.request.Prompt;
import xllm.http.tools.ToolCallReader;

/**
 * The engine requests behind one HTTP response: {@code n} choices per prompt, submitted together and
 * followed until each has finished. The request thread parks while no choice has news; the engine's
 * sinks unpark it. Closing aborts whatever is still running, so a failed or abandoned response never
 * leaves work in the engine. Request thread only.
 */
public final class GenerationRun implements AutoCloseable {
    /** Receives each step of each choice, in the order the choices make them. */
    public interface StepListener {
        void onStep(ChoiceStep step) throws IOException;
    }

    private final InferenceService service;
    private final List<Choice> choices = new ArrayList<>();
    private final int promptTokens;

    private GenerationRun(InferenceService service, int promptTokens) {
        this.service = service;
        this.promptTokens = promptTokens;
    }

    /**
     * Checks every prompt against the context, then submits all choices, each with the request's output
     * constraint; choice {@code p * n + i} is request {@code responseId-<index>}. If the service refuses one, those already submitted are aborted
     * and the refusal propagates.
     *
     * @param inputField the request field the prompts came from, for context-length errors
     */
    public static GenerationRun submit(InferenceService service, String responseId, List<Prompt> prompts,
            GenerationSpec spec, String inputField) {
        int maxModelLength = service.model().maxModelLength();
        int[] budgets = new int[prompts.size()];
        int promptTokens = 0;
        for (int p = 0; p < prompts.size(); p++) {
            budgets[p] = spec.completionBudget(prompts.get(p).length(), maxModelLength, inputField);
            promptTokens += prompts.get(p).length();
        }
        int[] endTokenIds = endTokenIds(service, spec);
        GenerationRun run = new GenerationRun(service, promptTokens);
        try {
            for (int p = 0; p < prompts.size(); p++) {
                Prompt prompt = prompts.get(p);
                for (int i = 0; i < spec.n(); i++) {
                    int index = p * spec.n() + i;
                    String requestId = responseId + "-" + index;
                    TokenLog log = new TokenLog(Math.min(budgets[p], 256), spec.topLogprobs());
                    Choice choice = new Choice(index, requestId, prompt, log, service,
                            new StopStrings(spec.stop()), endTokenIds,
                            spec.tools().readsCalls() ? new ToolCallReader() : null);
                    service.submit(new GenerateRequest(requestId, prompt.ids(), spec.sampling(budgets[p], i),
                            spec.priority(), spec.topLogprobs(), spec.offline(), spec.structuredOutput()), log);
                    run.choices.add(choice);
                }
            }
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
        return run;
    }

    public List<Choice> choices() {
        return List.copyOf(choices);
    }

    /** Follows every choice to its end, handing each step to {@code listener} as soon as it is made. */
    public void forEachStep(StepListener listener) throws IOException {
        int open = 0;
        for (Choice choice : choices) {
            open += choice.finishReason() == null ? 1 : 0;
        }
        while (open > 0) {
            boolean progressed = false;
            for (Choice choice : choices) {
                ChoiceStep step = choice.advance();
                if (step != null) {
                    progressed = true;
                    listener.onStep(step);
                    if (step.finish() != null) {
                        open--;
                    }
                }
            }
            if (!progressed) {
                LockSupport.park(this);
            }
        }
    }

    /** Token counts of the whole response: each prompt once, every choice's completion. */
    public Usage usage() {
        int completion = 0;
        int cached = 0;
        Prompt previous = null;
        for (Choice choice : choices) {
            completion += choice.completionTokens();
            Usage engine = choice.log().finished() ? choice.log().usage() : null;
            if (engine != null && choice.prompt() != previous) {
                cached += engine.cachedPromptTokens();
            }
            previous = choice.prompt();
        }
        return new Usage(promptTokens, completion, cached);
    }

    /** Aborts the choices that have not finished. */
    @Override
    public void close() {
        for (Choice choice : choices) {
            if (choice.finishReason() == null) {
                service.abort(choice.requestId());
            }
        }
    }

    private static int[] endTokenIds(InferenceService service, GenerationSpec spec) {
        int[] eos = spec.sampling().ignoreEos() ? new int[0] : service.eosTokenIds();
        int[] stops = spec.sampling().stopTokenIds();
        int[] all = new int[eos.length + stops.length];
        System.arraycopy(eos, 0, all, 0, eos.length);
        System.arraycopy(stops, 0, all, eos.length, stops.length);
        return all;
    }
}
